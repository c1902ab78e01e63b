import { cdb10, fixture } from './harness.spec-helper';
import { thinFixture } from './thinStore.spec-helper';

const WRITE10 = 0x2a;

function getLbaStatusCdb(lba: number | bigint, allocationLength: number): number[] {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x9e;
  cdb[1] = 0x12;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb.writeUInt32BE(allocationLength, 10);
  return [...cdb];
}

function descriptors(data: Buffer): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let at = 8; at + 16 <= data.length; at += 16) {
    out.push([Number(data.readBigUInt64BE(at)), data.readUInt32BE(at + 8), data[at + 12] & 0x0f]);
  }
  return out;
}

const inquiryVpd = (page: number) => [0x12, 0x01, page, 0x00, 0xff, 0x00];
const readCapacity16 = [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];

describe('GET LBA STATUS', () => {
  it('lists mapped and deallocated extents from the starting LBA', async () => {
    const f = await thinFixture(512, 1000);
    await f.run(cdb10(WRITE10, 10, 5), { dataOut: Buffer.alloc(5 * 512, 1) });
    await f.run(cdb10(WRITE10, 100, 1), { dataOut: Buffer.alloc(512, 1) });
    const r = await f.run(getLbaStatusCdb(0, 1024));
    expect(r.status).toBe(0);
    expect(r.data.readUInt32BE(0)).toBe(r.data.length - 4);
    expect(descriptors(r.data)).toEqual([
      [0, 10, 1],
      [10, 5, 0],
      [15, 85, 1],
      [100, 1, 0],
      [101, 899, 1],
    ]);
    // Starting inside an extent, the first descriptor starts at the starting LBA.
    expect(descriptors((await f.run(getLbaStatusCdb(12, 24))).data)).toEqual([[12, 3, 0]]);
    expect(descriptors((await f.run(getLbaStatusCdb(999, 1024))).data)).toEqual([[999, 1, 1]]);
  });

  it('fails at or past the end with LBA OUT OF RANGE', async () => {
    const f = await thinFixture(512, 1000);
    for (const lba of [1000, 1001, 2n ** 63n, 2n ** 64n - 1n]) {
      expect((await f.run(getLbaStatusCdb(lba, 24))).asc).toBe(0x21);
    }
  });

  it('does not exist on a thick LU (unsupported service action)', async () => {
    const f = await fixture(512, 100);
    const r = await f.run(getLbaStatusCdb(0, 24));
    expect([r.key, r.asc]).toEqual([5, 0x24]);
    expect(r.task.sense!.readUInt16BE(16)).toBe(1); // field pointer: byte 1
  });
});

describe('provisioning is advertised only by thin LUs', () => {
  it('thin: VPD B2h LBPU/LBPWS/LBPWS10/LBPRZ thin, B0h limits, READ CAPACITY (16) LBPME/LBPRZ', async () => {
    const f = await thinFixture(512, 4096);
    const b2 = (await f.run(inquiryVpd(0xb2))).data;
    expect([b2[4], b2[5], b2[6] & 0x07]).toEqual([0, 0xe4, 0x02]);
    const b0 = (await f.run(inquiryVpd(0xb0))).data;
    expect(b0[5]).toBe(f.lu.maxCompareAndWriteBlocks);
    expect(b0.readUInt32BE(20)).toBe(f.lu.maxUnmapBlocks);
    expect(b0.readUInt32BE(24)).toBe(256);
    expect(b0.readUInt32BE(28)).toBe(8); // OPTIMAL UNMAP GRANULARITY: 4 KiB
    expect(b0.readUInt32BE(32)).toBe(0x80000000);
    expect(Number(b0.readBigUInt64BE(36))).toBe(f.lu.maxWriteSameBlocks);
    expect((await f.run(readCapacity16)).data[14] & 0xc0).toBe(0xc0);
  });

  it('thick: B2h all zero, no UNMAP limits, LBPME clear, and REPORT SUPPORTED OPERATION CODES leaves UNMAP out', async () => {
    const f = await fixture(512, 4096);
    const b2 = (await f.run(inquiryVpd(0xb2))).data;
    expect([b2[5], b2[6]]).toEqual([0, 0]);
    const b0 = (await f.run(inquiryVpd(0xb0))).data;
    expect(b0[5]).toBe(f.lu.maxCompareAndWriteBlocks); // COMPARE AND WRITE is not a provisioning feature
    expect([b0.readUInt32BE(20), b0.readUInt32BE(24)]).toEqual([0, 0]);
    expect((await f.run(readCapacity16)).data[14] & 0xc0).toBe(0);
    const rsoc = (opcode: number) => [0xa3, 0x0c, 0x01, opcode, 0, 0, 0, 0, 0x10, 0, 0, 0];
    expect((await f.run(rsoc(0x42))).data[1] & 0x07).toBe(0x01); // UNMAP: not supported
    expect((await f.run(rsoc(0x89))).data[1] & 0x07).toBe(0x03); // COMPARE AND WRITE: supported
    const thin = await thinFixture(512, 4096);
    expect((await thin.run(rsoc(0x42))).data[1] & 0x07).toBe(0x03);
  });
});
