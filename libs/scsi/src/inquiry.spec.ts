import { fixture } from './harness.spec-helper';

function inquiryCdb(evpd: boolean, page: number, allocationLength: number): number[] {
  return [0x12, evpd ? 1 : 0, page, (allocationLength >> 8) & 0xff, allocationLength & 0xff, 0];
}

describe('INQUIRY', () => {
  it('returns standard data: disk, SPC-4, HISUP, CMDQUE, identity and version descriptors', async () => {
    const f = await fixture();
    const r = await f.run(inquiryCdb(false, 0, 255));
    expect(r.status).toBe(0);
    expect(r.data.length).toBe(96);
    expect(r.data[0]).toBe(0x00);
    expect(r.data[2]).toBe(0x06);
    expect(r.data[3]).toBe(0x12);
    expect(r.data[4]).toBe(91);
    expect(r.data[5] & 0x30).toBe(0x10); // TPGS 01b: implicit ALUA
    expect(r.data[5] & 0x01).toBe(0); // no PROTECT
    expect(r.data[7] & 0x02).toBe(0x02);
    expect(r.data.subarray(8, 16).toString()).toBe('TANDEM  ');
    expect(r.data.subarray(16, 32).toString()).toBe('vDisk           ');
    const versions = [0, 1, 2, 3].map((i) => r.data.readUInt16BE(58 + i * 2));
    expect(versions).toEqual([0x00a0, 0x0960, 0x0460, 0x04c0]);
  });

  it('truncates to the allocation length without an error, even below the header', async () => {
    const f = await fixture();
    for (const len of [0, 1, 5, 36]) {
      const r = await f.run(inquiryCdb(false, 0, len));
      expect(r.status).toBe(0);
      expect(r.task.dataInLength).toBe(len);
    }
  });

  it('rejects a page code with EVPD clear, and unknown VPD pages', async () => {
    const f = await fixture();
    let r = await f.run(inquiryCdb(false, 0x80, 255));
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x24]);
    expect(r.task.sense![15] & 0x40).toBe(0x40);
    expect(r.task.sense!.readUInt16BE(16)).toBe(2);
    r = await f.run(inquiryCdb(true, 0x99, 255));
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x24]);
  });

  it('lists supported VPD pages in ascending order and answers each', async () => {
    const f = await fixture();
    const r = await f.run(inquiryCdb(true, 0, 255));
    const pages = [...r.data.subarray(4, 4 + r.data.readUInt16BE(2))];
    expect(pages).toEqual([0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2]);
    for (const page of pages) {
      const p = await f.run(inquiryCdb(true, page, 255));
      expect(p.status).toBe(0);
      expect(p.data[1]).toBe(page);
      expect(p.data.length).toBe(4 + p.data.readUInt16BE(2));
    }
  });

  it('returns the unit serial number', async () => {
    const f = await fixture();
    const r = await f.run(inquiryCdb(true, 0x80, 255));
    expect(r.data.subarray(4).toString()).toBe('SER123');
  });

  it('returns stable LU designators and the target port designators of the nexus', async () => {
    const f = await fixture();
    const r = await f.run(inquiryCdb(true, 0x83, 1024));
    const designators: Array<{ codeSet: number; piv: boolean; association: number; type: number; value: Buffer }> = [];
    for (let at = 4; at < r.data.length; ) {
      const len = r.data[at + 3];
      designators.push({
        codeSet: r.data[at] & 0x0f,
        piv: (r.data[at + 1] & 0x80) !== 0,
        association: (r.data[at + 1] >> 4) & 3,
        type: r.data[at + 1] & 0x0f,
        value: r.data.subarray(at + 4, at + 4 + len),
      });
      at += 4 + len;
    }
    const naa = designators.find((d) => d.type === 3)!;
    expect(naa.association).toBe(0);
    expect(naa.value.length).toBe(8);
    expect(naa.value[0] >> 4).toBe(3);
    const vendor = designators.find((d) => d.type === 1)!;
    expect(vendor.value.toString()).toBe('TANDEM  dev-1');
    const rtp = designators.find((d) => d.type === 4)!;
    expect([rtp.association, rtp.piv, rtp.value.readUInt16BE(2)]).toEqual([1, true, 1]);
    const tpg = designators.find((d) => d.type === 5)!;
    expect([tpg.association, tpg.value.readUInt16BE(2)]).toEqual([1, 7]);
    const portName = designators.find((d) => d.type === 8 && d.association === 1)!;
    expect(portName.codeSet).toBe(3);
    expect(portName.value.length % 4).toBe(0);
    expect(portName.value.toString().replace(/\0+$/, '')).toBe('iqn.2026-11.io.tandem:demo,t,0x0001');

    // Same device id, other LU object (another replica): same LU designators.
    const other = await fixture();
    const again = await other.run(inquiryCdb(true, 0x83, 1024));
    expect(again.data.subarray(4, 4 + 12)).toEqual(r.data.subarray(4, 4 + 12));
  });

  it('reports block limits, a non-rotating medium and no logical block provisioning', async () => {
    const f = await fixture(4096);
    const bl = await f.run(inquiryCdb(true, 0xb0, 255));
    expect(bl.data.readUInt16BE(2)).toBe(0x3c);
    expect(bl.data.readUInt32BE(8)).toBe((16 * 1024 * 1024) / 4096);
    expect(bl.data.readUInt32BE(20)).toBe(0); // no UNMAP
    const bdc = await f.run(inquiryCdb(true, 0xb1, 255));
    expect(bdc.data.readUInt16BE(4)).toBe(1);
    const lbp = await f.run(inquiryCdb(true, 0xb2, 255));
    expect(lbp.data.readUInt16BE(2)).toBe(4);
    expect(lbp.data[5]).toBe(0);
  });

  it('answers for a LUN without a LU with qualifier 011b and type 1Fh', async () => {
    const f = await fixture();
    const r = await f.run(inquiryCdb(false, 0, 96), { lun: 5 });
    expect(r.status).toBe(0);
    expect(r.data[0]).toBe(0x7f);
  });
});
