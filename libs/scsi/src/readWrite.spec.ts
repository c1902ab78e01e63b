import { StoreError } from '@tandem/storage';
import { cdb10, cdb12, cdb16, fixture } from './harness.spec-helper';

const READ10 = 0x28;
const WRITE10 = 0x2a;
const READ16 = 0x88;
const WRITE16 = 0x8a;

function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

describe.each([512, 4096])('READ/WRITE with %i-byte blocks', (bs) => {
  it('round-trips data through WRITE (10) and READ (10), (12), (16), (6)', async () => {
    const f = await fixture(bs, 1024);
    const data = pattern(4 * bs, 3);
    const w = await f.run(cdb10(WRITE10, 10, 4), { dataOut: data });
    expect(w.status).toBe(0);
    expect(w.task.dataOutWanted).toBe(4 * bs);
    for (const cdb of [cdb10(READ10, 10, 4), cdb12(0xa8, 10, 4), cdb16(READ16, 10, 4), [0x08, 0, 0, 10, 4, 0]]) {
      const r = await f.run(cdb);
      expect(r.status).toBe(0);
      expect(r.task.dataInLength).toBe(4 * bs);
      expect(r.task.dataInPooled).toBe(true);
      expect(r.data).toEqual(data);
    }
  });

  it('writes with WRITE (6), (12), (16) at the right place', async () => {
    const f = await fixture(bs, 1024);
    await f.run([0x0a, 0, 0, 1, 1, 0], { dataOut: pattern(bs, 1) });
    await f.run(cdb12(0xaa, 2, 1), { dataOut: pattern(bs, 2) });
    await f.run(cdb16(WRITE16, 3, 1), { dataOut: pattern(bs, 3) });
    expect(f.store.data.subarray(bs, 2 * bs)).toEqual(pattern(bs, 1));
    expect(f.store.data.subarray(2 * bs, 3 * bs)).toEqual(pattern(bs, 2));
    expect(f.store.data.subarray(3 * bs, 4 * bs)).toEqual(pattern(bs, 3));
  });

  it('honours FUA, and writes through when the write cache is disabled', async () => {
    const f = await fixture(bs, 64);
    await f.run(cdb10(WRITE10, 0, 1, 0x08), { dataOut: pattern(bs, 0) });
    await f.run(cdb10(WRITE10, 0, 1), { dataOut: pattern(bs, 0) });
    expect(f.store.writes.map((w) => w.fua)).toEqual([true, false]);
    f.lu.modePages.setPage(0x08, Buffer.from(f.lu.modePages.page(0x08, 0)).fill(0, 2, 3));
    await f.run(cdb10(WRITE10, 0, 1), { dataOut: pattern(bs, 0) });
    expect(f.store.writes[2].fua).toBe(true);
  });

  it('fails beyond the end with LBA OUT OF RANGE, also for 0 blocks, and LBAs near 2^64', async () => {
    const f = await fixture(bs, 100);
    for (const [lba, n] of [[100, 1], [99, 2], [101, 0], [0x80000000, 1], [0xffffffff, 1]]) {
      const r = await f.run(cdb10(READ10, lba, n));
      expect([r.status, r.key, r.asc, r.ascq]).toEqual([2, 5, 0x21, 0]);
    }
    for (const lba of [2n ** 63n, 2n ** 64n - 1n, 1n << BigInt(64 - Math.log2(bs))]) {
      const r = await f.run(cdb16(READ16, lba, 1));
      expect([r.status, r.asc]).toEqual([2, 0x21]);
      const w = await f.run(cdb16(WRITE16, lba, 1), { dataOut: pattern(bs, 0) });
      expect([w.status, w.asc]).toEqual([2, 0x21]);
    }
    expect(f.store.writes).toHaveLength(0);
  });

  it('treats transfer length 0 as a successful no-op (READ (6): 256 blocks)', async () => {
    const f = await fixture(bs, 1024);
    const r = await f.run(cdb10(READ10, 5, 0));
    expect([r.status, r.task.dataInLength]).toEqual([0, 0]);
    const w = await f.run(cdb10(WRITE10, 5, 0), { dataOut: Buffer.alloc(0) });
    expect(w.status).toBe(0);
    expect(f.store.writes).toHaveLength(0);
    const r6 = await f.run([0x08, 0, 0, 0, 0, 0], { expectedLength: 256 * bs });
    expect(r6.task.dataInLength).toBe(256 * bs);
  });

  it('rejects RDPROTECT/WRPROTECT with INVALID FIELD IN CDB pointing at byte 1 bit 7', async () => {
    const f = await fixture(bs, 64);
    for (let p = 1; p < 8; p++) {
      const r = await f.run(cdb10(READ10, 0, 1, p << 5));
      expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x24]);
      expect(r.task.sense![15]).toBe(0xcf);
      expect(r.task.sense!.readUInt16BE(16)).toBe(1);
      const w = await f.run(cdb16(WRITE16, 0, 1, p << 5), { dataOut: pattern(bs, 0) });
      expect([w.status, w.asc]).toEqual([2, 0x24]);
    }
  });

  it('accepts DPO, FUA, FUA_NV and a group number', async () => {
    const f = await fixture(bs, 64);
    const cdb = cdb10(READ10, 0, 1, 0x1a);
    cdb[6] = 0x1f;
    expect((await f.run(cdb)).status).toBe(0);
  });

  it('reports the full length as produced but reads only what the initiator expects', async () => {
    const f = await fixture(bs, 64);
    const short = await f.run(cdb10(READ10, 0, 2), { expectedLength: 200 });
    expect(short.status).toBe(0);
    expect(short.task.dataInLength).toBe(2 * bs); // transport: overflow residual
    expect(short.data.length).toBe(200);
    const none = await f.run(cdb10(READ10, 0, 1), { expectedLength: 0 });
    expect([none.status, none.task.dataInLength]).toEqual([0, bs]);
    const noRead = await f.run(cdb10(READ10, 0, 1), { read: false, expectedLength: bs });
    expect([noRead.status, noRead.task.dataInLength]).toEqual([0, 0]);
  });

  it('writes only the blocks the initiator sent when its expected length is shorter', async () => {
    const f = await fixture(bs, 64);
    f.store.data.fill(0x61, 0, 2 * bs);
    const r = await f.run(cdb10(WRITE10, 0, 2), { dataOut: Buffer.alloc(bs, 0x62) });
    expect(r.status).toBe(0);
    expect(r.task.dataOutWanted).toBe(2 * bs);
    expect(f.store.data[0]).toBe(0x62);
    expect(f.store.data[bs]).toBe(0x61);
    // Less than one whole block: nothing reaches the medium, GOOD with residual overflow (reported by the transport).
    const writesBefore = f.store.writes.length;
    const partial = await f.run(cdb10(WRITE10, 0, 1), { dataOut: Buffer.alloc(200, 0x63) });
    expect(partial.status).toBe(0);
    expect(partial.task.dataOutWanted).toBe(bs);
    expect(f.store.writes.length).toBe(writesBefore);
    expect(f.store.data[0]).toBe(0x62);
    const more = await f.run(cdb10(WRITE10, 0, 1), { dataOut: Buffer.alloc(bs + 100, 0x64) });
    expect(more.status).toBe(0);
    expect(f.store.writes.at(-1)!.length).toBe(bs);
  });

  it('rejects a transfer longer than the block limits', async () => {
    const f = await fixture(bs, 100000);
    const r = await f.run(cdb12(0xa8, 0, f.lu.maxTransferBlocks + 1));
    expect([r.status, r.asc]).toEqual([2, 0x24]);
    expect(r.task.sense!.readUInt16BE(16)).toBe(6);
  });
});

describe('store failures', () => {
  it('maps a read failure to MEDIUM ERROR and releases the buffer', async () => {
    const f = await fixture();
    f.store.failNext = new Error('EIO');
    const r = await f.run(cdb10(READ10, 0, 1));
    expect([r.status, r.key, r.asc]).toEqual([2, 3, 0x11]);
    expect(r.task.dataIn).toBeNull();
    expect(r.task.dataInPooled).toBe(false);
  });

  it('maps a write failure to MEDIUM ERROR / WRITE ERROR and a closed store to NOT READY', async () => {
    const f = await fixture();
    f.store.failNext = new Error('EIO');
    let r = await f.run(cdb10(WRITE10, 0, 1), { dataOut: Buffer.alloc(512) });
    expect([r.key, r.asc]).toEqual([3, 0x0c]);
    f.store.failNext = new StoreError('closed', 'CLOSED');
    r = await f.run(cdb10(WRITE10, 0, 1), { dataOut: Buffer.alloc(512) });
    expect([r.key, r.asc]).toEqual([2, 0x04]);
  });
});

describe('WRITE AND VERIFY', () => {
  it('writes through (FUA) with BYTCHK 0 and 1, rejects BYTCHK 1xb and WRPROTECT', async () => {
    const f = await fixture();
    for (const cdb of [cdb10(0x2e, 1, 1), cdb10(0x2e, 1, 1, 0x02), cdb12(0xae, 1, 1), cdb16(0x8e, 1, 1, 0x10)]) {
      const r = await f.run(cdb, { dataOut: pattern(512, 9) });
      expect(r.status).toBe(0);
      expect(f.store.writes.at(-1)!.fua).toBe(true);
    }
    expect((await f.run(cdb10(0x2e, 1, 1, 0x04), { dataOut: pattern(512, 9) })).asc).toBe(0x24);
    expect((await f.run(cdb10(0x2e, 1, 1, 0x20), { dataOut: pattern(512, 9) })).asc).toBe(0x24);
    expect((await f.run(cdb10(0x2e, 2048, 1), { dataOut: pattern(512, 9) })).asc).toBe(0x21);
  });
});

describe('SYNCHRONIZE CACHE and PRE-FETCH', () => {
  it('flushes the store and checks the range', async () => {
    const f = await fixture(512, 100);
    expect((await f.run(cdb10(0x35, 0, 0))).status).toBe(0);
    expect((await f.run(cdb16(0x91, 10, 90))).status).toBe(0);
    expect(f.store.flushes).toBe(2);
    expect((await f.run(cdb10(0x35, 99, 2))).asc).toBe(0x21);
  });

  it('PRE-FETCH answers GOOD within range and LBA OUT OF RANGE beyond', async () => {
    const f = await fixture(512, 100);
    expect((await f.run(cdb10(0x34, 0, 100, 0x02))).status).toBe(0);
    expect((await f.run(cdb16(0x90, 99, 1))).status).toBe(0);
    expect((await f.run(cdb10(0x34, 101, 0))).asc).toBe(0x21);
    expect((await f.run(cdb16(0x90, 2n ** 64n - 1n, 1))).asc).toBe(0x21);
  });
});
