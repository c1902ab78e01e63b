import { cdb10, cdb16, fixture } from './harness.spec-helper';
import { thinFixture } from './thinStore.spec-helper';

const WS10 = 0x41;
const WS16 = 0x93;
const READ10 = 0x28;
const WRITE10 = 0x2a;

describe.each([512, 4096])('WRITE SAME with %i-byte blocks', (bs) => {
  it('writes the block over the whole range, in chunks of at most 1 MiB', async () => {
    const blocks = Math.ceil((3 * 1024 * 1024) / bs) + 3;
    const f = await fixture(bs, blocks + 10);
    const block = Buffer.alloc(bs);
    for (let i = 0; i < bs; i++) block[i] = i & 0xff;
    const r = await f.run(cdb16(WS16, 5, blocks), { dataOut: block });
    expect(r.status).toBe(0);
    expect(f.store.writes.length).toBeGreaterThan(1);
    expect(f.store.writes.every((w) => w.length <= 1024 * 1024)).toBe(true);
    expect(f.store.writes.reduce((n, w) => n + w.length, 0)).toBe(blocks * bs);
    for (let b = 5; b < 5 + blocks; b += 97) expect(f.store.data.subarray(b * bs, (b + 1) * bs)).toEqual(block);
    expect(f.store.data.subarray(4 * bs, 5 * bs).every((x) => x === 0)).toBe(true);
    expect(f.store.data.subarray((5 + blocks) * bs, (6 + blocks) * bs).every((x) => x === 0)).toBe(true);
  });

  it('NDOB writes zeros without Data-Out; 0 blocks runs to the end within MAXIMUM WRITE SAME LENGTH', async () => {
    const f = await fixture(bs, 64);
    await f.run(cdb10(WRITE10, 0, 64), { dataOut: Buffer.alloc(64 * bs, 0xff) });
    expect((await f.run(cdb16(WS16, 60, 0, 0x01), { read: false, expectedLength: 0 })).status).toBe(0);
    expect(f.store.data.subarray(60 * bs).every((b) => b === 0)).toBe(true);
    expect(f.store.data[60 * bs - 1]).toBe(0xff);
    expect((await f.run(cdb10(WS10, 65, 0), { dataOut: Buffer.alloc(bs) })).asc).toBe(0x21);
  });

  it('refuses a Data-Out that is not exactly one block, WRPROTECT, ANCHOR and PBDATA/LBDATA', async () => {
    const f = await fixture(bs, 64);
    expect((await f.run(cdb10(WS10, 0, 1), { dataOut: Buffer.alloc(bs / 2) })).key).toBe(5);
    expect((await f.run(cdb10(WS10, 0, 1), { dataOut: Buffer.alloc(bs * 2) })).key).toBe(5);
    for (const byte1 of [0x20, 0x10, 0x18, 0x04, 0x02]) {
      const r = await f.run(cdb10(WS10, 0, 1, byte1), { dataOut: Buffer.alloc(bs) });
      expect([r.key, r.asc]).toEqual([5, 0x24]);
    }
    expect(f.store.writes).toHaveLength(0);
  });

  it('refuses more than MAXIMUM WRITE SAME LENGTH blocks', async () => {
    const f = await fixture(bs, 8);
    Object.defineProperty(f.lu, 'maxWriteSameBlocks', { value: 4 });
    expect((await f.run(cdb16(WS16, 0, 5), { dataOut: Buffer.alloc(bs) })).asc).toBe(0x24);
    expect((await f.run(cdb16(WS16, 0, 0), { dataOut: Buffer.alloc(bs) })).asc).toBe(0x24);
    expect((await f.run(cdb16(WS16, 4, 0), { dataOut: Buffer.alloc(bs) })).status).toBe(0);
  });
});

describe('WRITE SAME with UNMAP', () => {
  it('deallocates on a thin LU (the range reads as zeros)', async () => {
    const f = await thinFixture(512, 128);
    await f.run(cdb10(WRITE10, 0, 32), { dataOut: Buffer.alloc(32 * 512, 0xff) });
    expect((await f.run(cdb10(WS10, 8, 16, 0x08), { dataOut: Buffer.alloc(512) })).status).toBe(0);
    expect((await f.run(cdb16(WS16, 100, 0, 0x09), { read: false, expectedLength: 0 })).status).toBe(0);
    expect(f.store.discards).toEqual([{ position: 8 * 512, length: 16 * 512 }, { position: 100 * 512, length: 28 * 512 }]);
    const back = (await f.run(cdb10(READ10, 0, 32))).data;
    expect(back.subarray(0, 8 * 512).every((b) => b === 0xff)).toBe(true);
    expect(back.subarray(8 * 512, 24 * 512).every((b) => b === 0)).toBe(true);
  });

  it('is an invalid field on a thick LU', async () => {
    const f = await fixture(512, 64);
    const r = await f.run(cdb10(WS10, 0, 1, 0x08), { dataOut: Buffer.alloc(512) });
    expect([r.key, r.asc]).toEqual([5, 0x24]);
  });
});
