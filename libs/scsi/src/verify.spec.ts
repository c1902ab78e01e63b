import { cdb10, cdb12, cdb16, fixture } from './harness.spec-helper';

describe('VERIFY', () => {
  async function prepared() {
    const f = await fixture(512, 128);
    for (let i = 0; i < f.store.data.length; i++) f.store.data[i] = (i * 13) & 0xff;
    return f;
  }

  it('BYTCHK 0 checks only the range', async () => {
    const f = await prepared();
    expect((await f.run(cdb10(0x2f, 0, 128), { read: false, expectedLength: 0 })).status).toBe(0);
    expect((await f.run(cdb10(0x2f, 128, 1), { read: false })).asc).toBe(0x21);
    expect((await f.run(cdb10(0x2f, 129, 0), { read: false })).asc).toBe(0x21);
  });

  it('BYTCHK 1 compares and reports MISCOMPARE with the offset of the first different byte', async () => {
    const f = await prepared();
    const same = Buffer.from(f.store.data.subarray(512 * 3, 512 * 7));
    for (const cdb of [cdb10(0x2f, 3, 4, 0x02), cdb12(0xaf, 3, 4, 0x02), cdb16(0x8f, 3, 4, 0x02)]) {
      expect((await f.run(cdb, { dataOut: same })).status).toBe(0);
    }
    const different = Buffer.from(same);
    different[1000] ^= 0x58;
    const r = await f.run(cdb10(0x2f, 3, 4, 0x02), { dataOut: different });
    expect([r.status, r.key, r.asc, r.ascq]).toEqual([2, 0x0e, 0x1d, 0x00]);
    expect(r.task.sense![0] & 0x80).toBe(0x80);
    expect(r.task.sense!.readUInt32BE(3)).toBe(1000);
  });

  it('BYTCHK 3 compares one block with each block of the range', async () => {
    const f = await prepared();
    f.store.data.fill(0x55, 0, 512 * 4);
    expect((await f.run(cdb10(0x2f, 0, 4, 0x06), { dataOut: Buffer.alloc(512, 0x55) })).status).toBe(0);
    f.store.data[512 * 2 + 7] = 0;
    const r = await f.run(cdb10(0x2f, 0, 4, 0x06), { dataOut: Buffer.alloc(512, 0x55) });
    expect(r.key).toBe(0x0e);
    expect(r.task.sense!.readUInt32BE(3)).toBe(512 * 2 + 7);
  });

  it('rejects VRPROTECT and BYTCHK 10b', async () => {
    const f = await prepared();
    for (let p = 1; p < 8; p++) expect((await f.run(cdb10(0x2f, 0, 1, (p << 5) | 0x02), { dataOut: Buffer.alloc(512) })).asc).toBe(0x24);
    expect((await f.run(cdb10(0x2f, 0, 1, 0x04), { dataOut: Buffer.alloc(512) })).asc).toBe(0x24);
  });
});
