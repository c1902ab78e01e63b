import { fixture } from './harness.spec-helper';

function modeSense6(page: number, pc = 0, allocationLength = 255, dbd = false, subpage = 0): number[] {
  return [0x1a, dbd ? 0x08 : 0, (pc << 6) | page, subpage, allocationLength, 0];
}

function modeSense10(page: number, pc = 0, allocationLength = 1024, llbaa = false, dbd = false): number[] {
  return [0x5a, (llbaa ? 0x10 : 0) | (dbd ? 0x08 : 0), (pc << 6) | page, 0, 0, 0, 0, allocationLength >> 8, allocationLength & 0xff, 0];
}

/** Page codes in a MODE SENSE (6) answer, after header and block descriptor. */
function pagesOf(data: Buffer, headerLength = 4, descriptorLength = data[3]): Map<number, Buffer> {
  const pages = new Map<number, Buffer>();
  for (let at = headerLength + descriptorLength; at < data.length; at += 2 + data[at + 1]) {
    pages.set(data[at] & 0x3f, data.subarray(at, at + 2 + data[at + 1]));
  }
  return pages;
}

describe('MODE SENSE', () => {
  it('(6) all pages: header with DPOFUA, short block descriptor, caching, control, IEC pages', async () => {
    const f = await fixture(4096, 1000);
    const r = await f.run(modeSense6(0x3f));
    expect(r.status).toBe(0);
    expect(r.data[0]).toBe(r.data.length - 1);
    expect(r.data[2]).toBe(0x10);
    expect(r.data[3]).toBe(8);
    expect(r.data.readUInt32BE(4)).toBe(1000);
    expect(r.data.readUIntBE(9, 3)).toBe(4096);
    const pages = pagesOf(r.data);
    expect([...pages.keys()]).toEqual([0x08, 0x0a, 0x1c]);
    expect(pages.get(0x08)![1]).toBe(0x12);
    expect(pages.get(0x08)![2] & 0x04).toBe(0x04); // WCE
    expect(pages.get(0x0a)![1]).toBe(0x0a);
    expect(pages.get(0x1c)![2] & 0x08).toBe(0x08); // DEXCPT
  });

  it('truncates to the allocation length without reporting more than it', async () => {
    const f = await fixture();
    const r = await f.run(modeSense6(0x3f, 0, 4), { expectedLength: 4 });
    expect(r.task.dataInLength).toBe(4);
    expect(r.data[0]).toBeGreaterThan(3);
  });

  it('returns one page, with DBD and without', async () => {
    const f = await fixture();
    const r = await f.run(modeSense6(0x0a, 0, 255, true));
    expect(r.data[3]).toBe(0);
    expect(r.data.length).toBe(4 + 12);
    expect(r.data[4]).toBe(0x0a);
  });

  it('changeable values show only WCE and D_SENSE; defaults equal the current values at start', async () => {
    const f = await fixture();
    const changeable = pagesOf((await f.run(modeSense6(0x3f, 1))).data);
    expect(changeable.get(0x08)![2]).toBe(0x04);
    expect(changeable.get(0x0a)![2]).toBe(0x04);
    expect(changeable.get(0x0a)![4] & 0x08).toBe(0); // SWP not changeable
    expect([...changeable.get(0x1c)!.subarray(2)].every((b) => b === 0)).toBe(true);
    const defaults = (await f.run(modeSense6(0x3f, 2))).data;
    const current = (await f.run(modeSense6(0x3f, 0))).data;
    expect(defaults).toEqual(current);
  });

  it('saved values are not supported', async () => {
    const f = await fixture();
    const r = await f.run(modeSense6(0x08, 3));
    expect([r.status, r.key, r.asc, r.ascq]).toEqual([2, 5, 0x39, 0x00]);
  });

  it('rejects unknown pages and subpages', async () => {
    const f = await fixture();
    expect((await f.run(modeSense6(0x19))).asc).toBe(0x24);
    expect((await f.run(modeSense6(0x08, 0, 255, false, 1))).asc).toBe(0x24);
    expect((await f.run(modeSense6(0x3f, 0, 255, false, 0xff))).status).toBe(0);
  });

  it('(10) with LLBAA returns a 16-byte block descriptor', async () => {
    const f = await fixture(512, 4096);
    const r = await f.run(modeSense10(0x08, 0, 1024, true));
    expect(r.data.readUInt16BE(0)).toBe(r.data.length - 2);
    expect(r.data[3]).toBe(0x10);
    expect(r.data[4] & 1).toBe(1);
    expect(r.data.readUInt16BE(6)).toBe(16);
    expect(Number(r.data.readBigUInt64BE(8))).toBe(4096);
    expect(r.data.readUInt32BE(20)).toBe(512);
    expect(r.data[24]).toBe(0x08);
    const short = await f.run(modeSense10(0x08, 0, 1024, false));
    expect(short.data.readUInt16BE(6)).toBe(8);
  });
});
