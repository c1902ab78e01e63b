import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BlockStore, ByteRange, StoreError } from '../blockStore';
import { FlatStore } from '../flat/flatStore';
import { CachedStore, CacheOptions } from './cachedStore';

const MiB = 1024 * 1024;
const BS = 4096;

/**
 * Test store in RAM that records what reaches it: `durable` holds only data made durable (FUA or flush), `data`
 * what a read returns. Writes can be held back (`gate`) or made to fail (`failWrites`).
 */
class RecordingStore implements BlockStore {
  readonly kind = 'flat' as const;
  readonly location = 'mem';
  readonly thin = true;
  data: Buffer;
  durable: Buffer;
  writes: { position: number; length: number; fua: boolean }[] = [];
  flushes = 0;
  discards: ByteRange[] = [];
  failWrites: Error | null = null;
  gate: Promise<void> | null = null;
  closed = false;
  constructor(public sizeBytes: number, readonly blockSize = BS) {
    this.data = Buffer.alloc(sizeBytes);
    this.durable = Buffer.alloc(sizeBytes);
  }
  /** Held once: the next read (after `skipReads` more) copies the data, then waits for this before it completes. */
  holdNextRead: Promise<void> | null = null;
  skipReads = 0;
  async read(buf: Buffer, off: number, len: number, pos: number): Promise<void> {
    await Promise.resolve();
    this.data.copy(buf, off, pos, pos + len);
    if (!this.holdNextRead) return;
    if (this.skipReads > 0) return void this.skipReads--;
    const hold = this.holdNextRead;
    this.holdNextRead = null;
    await hold;
  }
  async write(buf: Buffer, off: number, len: number, pos: number, fua: boolean): Promise<void> {
    const copy = Buffer.from(buf.subarray(off, off + len));
    if (this.gate) await this.gate;
    await Promise.resolve();
    if (this.failWrites) throw this.failWrites;
    copy.copy(this.data, pos);
    if (fua) copy.copy(this.durable, pos);
    this.writes.push({ position: pos, length: len, fua });
  }
  async flush(): Promise<void> {
    if (this.failWrites) throw this.failWrites;
    this.data.copy(this.durable);
    this.flushes++;
  }
  async grow(n: number): Promise<void> {
    const d = Buffer.alloc(n);
    this.data.copy(d);
    this.data = d;
    const u = Buffer.alloc(n);
    this.durable.copy(u);
    this.durable = u;
    this.sizeBytes = n;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  async discard(pos: number, len: number): Promise<void> {
    this.data.fill(0, pos, pos + len);
    this.discards.push({ position: pos, length: len });
  }
  async mappedRanges(pos: number, len: number, max: number): Promise<ByteRange[]> {
    const out: ByteRange[] = [];
    for (let p = pos; p < pos + len && out.length < max; p += this.blockSize) {
      if (this.data.subarray(p, p + this.blockSize).some((b) => b !== 0)) {
        const last = out[out.length - 1];
        if (last && last.position + last.length === p) last.length += this.blockSize;
        else out.push({ position: p, length: this.blockSize });
      }
    }
    return out;
  }
}

function block(fill: number, n = 1): Buffer {
  return Buffer.alloc(n * BS, fill);
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

function cached(store: BlockStore, opts: Partial<CacheOptions> = {}): CachedStore {
  return new CachedStore(store, { mode: 'WRITE_BACK', sizeBytes: MiB, flushDelayMs: 10_000, retryDelayMs: 10_000, onWarning: () => undefined, ...opts });
}

async function readBlock(c: BlockStore, index: number, n = 1): Promise<Buffer> {
  const b = Buffer.alloc(n * BS);
  await c.read(b, 0, n * BS, index * BS);
  return b;
}

describe('CachedStore options', () => {
  it('refuses bad sizes, modes and dirty limits with clear errors, warns below 128 MiB', () => {
    const s = new RecordingStore(4 * MiB);
    expect(() => cached(s, { sizeBytes: 1000 })).toThrow(/below the minimum/);
    expect(() => cached(s, { sizeBytes: MiB + 1 })).toThrow(/multiple of the 4096-byte/);
    expect(() => cached(s, { mode: 'FAST' as never })).toThrow(/WRITE_BACK, WRITE_THROUGH, NONE/);
    expect(() => cached(s, { dirtyLimitBytes: MiB })).toThrow(/half the cache/);
    expect(() => cached(s, { dirtyLimitBytes: 0 })).toThrow(StoreError);
    const warnings: string[] = [];
    cached(s, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/below 128 MiB/)]);
  });

  it('passes geometry and thinness through, and grows', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    expect([c.kind, c.blockSize, c.sizeBytes, c.thin, c.location]).toEqual(['flat', BS, 4 * MiB, true, 'mem']);
    await c.grow(8 * MiB);
    expect(c.sizeBytes).toBe(8 * MiB);
  });
});

describe('CachedStore write-back', () => {
  it('completes writes in RAM, reads them back, and flush() makes them durable (coalesced)', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(1, 4), 0, 4 * BS, 10 * BS, false);
    await c.write(block(2), 0, BS, 14 * BS, false);
    expect(s.writes).toHaveLength(0);
    expect(c.dirtyBytes).toBe(5 * BS);
    expect((await readBlock(c, 14))[0]).toBe(2);
    expect((await readBlock(c, 10, 4)).equals(block(1, 4))).toBe(true);
    await c.flush();
    expect(c.dirtyBytes).toBe(0);
    expect(s.writes).toEqual([{ position: 10 * BS, length: 5 * BS, fua: false }]);
    expect(s.flushes).toBe(1);
    expect(s.durable.subarray(10 * BS, 15 * BS).equals(Buffer.concat([block(1, 4), block(2)]))).toBe(true);
    const st = c.stats();
    expect(st.flushedBytes).toBe(5 * BS);
    expect(st.flushRateBytesPerSec).toBeGreaterThan(0);
    expect(st.estimatedFlushSeconds).toBe(0);
  });

  it('makes FUA writes durable before they complete', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(7), 0, BS, 3 * BS, true);
    expect(s.durable[3 * BS]).toBe(7);
    expect(c.dirtyBytes).toBe(0);
  });

  it('flushes in the background after the delay', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { flushDelayMs: 5 });
    await c.write(block(9), 0, BS, 0, false);
    // Bounded by the condition with a generous deadline, not by a count of 5 ms naps a busy machine may stretch.
    for (const deadline = Date.now() + 30_000; c.dirtyBytes > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
    expect(c.dirtyBytes).toBe(0);
    expect(s.data[0]).toBe(9);
  });

  it('reports dirty bytes and a flush estimate from the measured flush rate', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(1), 0, BS, 0, false);
    expect(c.stats().estimatedFlushSeconds).toBeNull(); // nothing measured yet
    await c.flush();
    await c.write(block(2, 2), 0, 2 * BS, 100 * BS, false);
    const st = c.stats();
    expect(st.dirtyBytes).toBe(2 * BS);
    expect(st.estimatedFlushSeconds).toBeCloseTo((2 * BS) / st.flushRateBytesPerSec!, 9);
  });

  it('measures the flush rate over wall time, not the sum of overlapping store writes', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    // 16 scattered lines: 16 store writes in flight together, each held ~60 ms by the store.
    for (let i = 0; i < 16; i++) await c.write(block(i + 1), 0, BS, i * 8 * BS, false);
    let open!: () => void;
    s.gate = new Promise<void>((resolve) => (open = resolve));
    const started = process.hrtime.bigint();
    const flushing = c.flush();
    await new Promise((r) => setTimeout(r, 60));
    open();
    s.gate = null;
    await flushing;
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rate = c.stats().flushRateBytesPerSec!;
    // Wall time ~60 ms idle (longer on a busy machine, so measured here rather than assumed) for 64 KiB; summing
    // the 16 overlapping writes would report ~16× less than 64 KiB over the wall time, so half of it separates them.
    expect(rate).toBeGreaterThan((16 * BS) / (2 * wallSeconds));
    expect(s.writes).toHaveLength(16);
  });

  it('a read that missed does not return, nor cache, a line flushed and evicted while its store read was under way', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { sizeBytes: 16 * BS, dirtyLimitBytes: 8 * BS });
    await c.write(block(7), 0, BS, 0, false); // line 0 dirty: the store still has zeros there
    let release!: () => void;
    s.holdNextRead = new Promise<void>((resolve) => (release = resolve));
    const back = Buffer.alloc(2 * BS);
    const reading = c.read(back, 0, 2 * BS, 0); // line 1 is not cached: a miss, the store's old line 0 in the span
    await new Promise((r) => setTimeout(r, 5));
    await c.flush(); // line 0 clean now…
    for (let i = 2; i < 20; i++) await c.read(Buffer.alloc(BS), 0, BS, i * BS); // …and evicted by other reads
    release();
    await reading;
    expect(back.subarray(0, BS).equals(block(7))).toBe(true);
    const again = Buffer.alloc(BS);
    await c.read(again, 0, BS, 0);
    expect(again.equals(block(7))).toBe(true);
  });

  it('a partial write keeps the other sectors of both edge lines, even when the first one became the oldest meanwhile', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { sizeBytes: 16 * BS, dirtyLimitBytes: 8 * BS });
    const old = Buffer.alloc(3 * BS, 0x11);
    await s.write(old, 0, 3 * BS, 100 * BS, true);
    for (let i = 20; i < 36; i++) await c.read(Buffer.alloc(BS), 0, BS, i * BS); // a full cache of clean lines
    // 512 bytes into line 100 through 512 bytes into line 102: both edges read in, the middle overwritten. The
    // second edge's read is held while other reads make every other line newer than the first edge.
    let release!: () => void;
    s.holdNextRead = new Promise<void>((resolve) => (release = resolve));
    s.skipReads = 1;
    const data = Buffer.alloc(2 * BS, 0x33);
    const writing = c.write(data, 0, 2 * BS, 100 * BS + 512, false);
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 20; i < 36; i++) await c.read(Buffer.alloc(BS), 0, BS, i * BS);
    release();
    await writing;
    const back = Buffer.alloc(3 * BS);
    await c.read(back, 0, 3 * BS, 100 * BS);
    const want = Buffer.from(old);
    data.copy(want, 512);
    expect(back.equals(want)).toBe(true);
    await c.flush();
    expect(s.data.subarray(100 * BS, 103 * BS).equals(want)).toBe(true);
  });

  it('keeps an overwrite made during an in-flight flush write dirty, and reads see the newest data', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(1), 0, BS, 5 * BS, false);
    const g = gate();
    s.gate = g.promise;
    const flushing = c.flush();
    await new Promise((r) => setImmediate(r));
    await c.write(block(2), 0, BS, 5 * BS, false); // overwrites the block being written
    expect((await readBlock(c, 5))[0]).toBe(2);
    s.gate = null;
    g.open();
    await flushing;
    expect(s.durable[5 * BS]).toBe(1); // the flush covered what was dirty when it was called
    expect(c.dirtyBytes).toBe(BS); // the overwrite is still dirty
    expect((await readBlock(c, 5))[0]).toBe(2);
    await c.flush();
    expect(s.durable[5 * BS]).toBe(2);
    expect(c.dirtyBytes).toBe(0);
  });

  it('never has two store writes of one block in flight, and the last write wins under concurrency', async () => {
    const s = new RecordingStore(4 * MiB);
    let inFlight = 0;
    let maxInFlight = 0;
    const inner = s.write.bind(s);
    s.write = async (b, o, l, p, f) => {
      if (p <= 0 && p + l > 0) maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 1));
        await inner(b, o, l, p, f);
      } finally {
        if (p <= 0 && p + l > 0) inFlight--;
      }
    };
    const c = cached(s, { flushDelayMs: 0, dirtyLimitBytes: 8 * BS });
    for (let i = 1; i <= 50; i++) {
      await c.write(block(i), 0, BS, 0, false);
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await c.flush();
    expect(maxInFlight).toBe(1);
    expect(s.durable[0]).toBe(50);
  });

  it('bounds dirty data: writers wait for the flusher when the limit is reached', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { dirtyLimitBytes: 4 * BS });
    const g = gate();
    s.gate = g.promise;
    for (let i = 0; i < 4; i++) await c.write(block(i + 1), 0, BS, i * 2 * BS, false);
    expect(c.dirtyBytes).toBe(4 * BS);
    let done = false;
    const waiting = c.write(block(9), 0, BS, 100 * BS, false).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(c.dirtyBytes).toBeLessThanOrEqual(4 * BS);
    s.gate = null;
    g.open();
    await waiting;
    expect(c.stats().dirtyBytes).toBeLessThanOrEqual(4 * BS);
    await c.flush();
    for (let i = 0; i < 4; i++) expect(s.durable[i * 2 * BS]).toBe(i + 1);
    expect(s.durable[100 * BS]).toBe(9);
  });

  it('writes larger than the dirty limit are split and complete', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { dirtyLimitBytes: 8 * BS, flushDelayMs: 0 });
    const big = Buffer.alloc(64 * BS);
    for (let i = 0; i < 64; i++) big.fill(i + 1, i * BS, (i + 1) * BS);
    await c.write(big, 0, big.length, 0, false);
    expect((await readBlock(c, 0, 64)).equals(big)).toBe(true);
    await c.flush();
    expect(s.durable.subarray(0, big.length).equals(big)).toBe(true);
  });

  it('keeps data dirty when a flush fails (ENOSPC), surfaces the error on flush and FUA, and recovers', async () => {
    const s = new RecordingStore(4 * MiB);
    const warnings: string[] = [];
    const c = cached(s, { onWarning: (m) => warnings.push(m) });
    await c.write(block(3), 0, BS, 0, false);
    s.failWrites = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    await expect(c.flush()).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/ENOSPC/) });
    expect(c.dirtyBytes).toBe(BS);
    expect(c.stats().lastFlushError).toMatch(/ENOSPC/);
    expect(warnings.some((w) => /kept dirty/.test(w))).toBe(true);
    expect((await readBlock(c, 0))[0]).toBe(3);
    await expect(c.write(block(4), 0, BS, BS, true)).rejects.toMatchObject({ code: 'IO' });
    await expect(c.close()).rejects.toMatchObject({ code: 'IO' });
    expect(s.closed).toBe(false); // data still in RAM, the store still open
    s.failWrites = null;
    await c.flush();
    expect(c.dirtyBytes).toBe(0);
    expect(c.stats().lastFlushError).toBeNull();
    expect(s.durable[0]).toBe(3);
    expect(s.durable[BS]).toBe(4);
    await c.close();
    expect(s.closed).toBe(true);
  });

  it('fails writers waiting for room when the flush keeps failing', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { dirtyLimitBytes: 2 * BS });
    await c.write(block(1, 2), 0, 2 * BS, 0, false);
    s.failWrites = new Error('ENOSPC');
    await expect(c.write(block(2), 0, BS, 10 * BS, false)).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/full and flushing it fails/) });
    expect((await readBlock(c, 0, 2)).equals(block(1, 2))).toBe(true);
  });

  it('close() flushes everything and then closes the store; later I/O is refused', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(5, 3), 0, 3 * BS, 20 * BS, false);
    await c.close();
    expect(s.closed).toBe(true);
    expect(s.durable.subarray(20 * BS, 23 * BS).equals(block(5, 3))).toBe(true);
    await expect(readBlock(c, 0)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(c.write(block(1), 0, BS, 0, false)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('discard drops dirty data in the range (it is not written later) and waits for in-flight flush writes', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(1, 4), 0, 4 * BS, 0, false);
    const g = gate();
    s.gate = g.promise;
    const f = c.flushDirty().catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    await c.write(block(2, 2), 0, 2 * BS, 8 * BS, false); // dirty, not in flight
    let discarded = false;
    const d = c.discard!(0, 16 * BS).then(() => (discarded = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(discarded).toBe(false); // waits for the in-flight write of blocks 0-3
    expect(c.dirtyBytes).toBe(0);
    s.gate = null;
    g.open();
    await d;
    await f;
    await c.flush();
    expect(s.data.subarray(0, 16 * BS).every((b) => b === 0)).toBe(true);
    expect((await readBlock(c, 0, 16)).every((b) => b === 0)).toBe(true);
    expect(s.discards).toEqual([{ position: 0, length: 16 * BS }]);
  });

  it('mappedRanges counts dirty blocks that have not reached the store yet', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(1, 2), 0, 2 * BS, 4 * BS, false);
    expect(await c.mappedRanges!(0, 64 * BS, 8)).toEqual([{ position: 4 * BS, length: 2 * BS }]);
  });

  it('has no discard or mappedRanges when the store has none', () => {
    const s = new RecordingStore(4 * MiB);
    const plain: BlockStore = { ...s, read: s.read.bind(s), write: s.write.bind(s), flush: s.flush.bind(s), grow: s.grow.bind(s), close: s.close.bind(s), discard: undefined, mappedRanges: undefined, kind: 'flat', location: 'x', blockSize: BS, sizeBytes: 4 * MiB, thin: false };
    const c = cached(plain);
    expect(c.discard).toBeUndefined();
    expect(c.mappedRanges).toBeUndefined();
  });
});

describe('CachedStore read cache', () => {
  it('serves repeated reads from RAM and evicts least recently used clean blocks', async () => {
    const s = new RecordingStore(8 * MiB);
    for (let i = 0; i < 2048; i++) s.data.fill(i & 0xff, i * BS, (i + 1) * BS);
    let storeReads = 0;
    const inner = s.read.bind(s);
    s.read = (b, o, l, p) => {
      storeReads++;
      return inner(b, o, l, p);
    };
    const c = cached(s, { mode: 'NONE', sizeBytes: MiB }); // 256 blocks
    for (let i = 0; i < 10; i++) expect((await readBlock(c, i))[0]).toBe(i);
    expect(storeReads).toBe(10);
    for (let i = 0; i < 10; i++) expect((await readBlock(c, i))[0]).toBe(i);
    expect(storeReads).toBe(10);
    expect(c.stats()).toMatchObject({ readHits: 10, readMisses: 10, cachedBytes: 10 * BS });
    // block 0 used again, then 300 other blocks pass through: 0 was recent but not recent enough
    for (let i = 100; i < 400; i++) await readBlock(c, i);
    expect(c.stats().cachedBytes).toBe(MiB);
    storeReads = 0;
    await readBlock(c, 399);
    expect(storeReads).toBe(0);
    expect((await readBlock(c, 0))[0]).toBe(0);
    expect(storeReads).toBe(1);
  });

  it('a partial hit reads only the missing blocks and returns dirty data over the store', async () => {
    const s = new RecordingStore(4 * MiB);
    s.data.fill(0xee);
    const c = cached(s);
    await c.write(block(1), 0, BS, 2 * BS, false);
    const got = await readBlock(c, 0, 4);
    expect([got[0], got[BS], got[2 * BS], got[3 * BS]]).toEqual([0xee, 0xee, 1, 0xee]);
  });

  it('a read racing a write does not cache stale store data (write-through)', async () => {
    const s = new RecordingStore(4 * MiB);
    s.data.fill(1, 0, BS);
    const c = cached(s, { mode: 'WRITE_THROUGH' });
    const g = gate();
    const inner = s.read.bind(s);
    s.read = async (b, o, l, p) => {
      await inner(b, o, l, p); // old data read ...
      await g.promise; // ... and returned only after the write below completed
    };
    const r = readBlock(c, 0);
    await new Promise((res) => setImmediate(res));
    await c.write(block(2), 0, BS, 0, false);
    g.open();
    expect((await r)[0]).toBe(1); // concurrent: either answer is fine
    s.read = inner;
    expect((await readBlock(c, 0))[0]).toBe(2); // but the stale copy must not have been cached
  });
});

describe('CachedStore write-through and NONE', () => {
  it('write-through writes with FUA before completing and keeps the read cache coherent', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { mode: 'WRITE_THROUGH' });
    await readBlock(c, 0); // cached clean zeros
    await c.write(block(4), 0, BS, 0, false);
    expect(s.writes).toEqual([{ position: 0, length: BS, fua: true }]);
    expect(s.durable[0]).toBe(4);
    expect(c.dirtyBytes).toBe(0);
    expect((await readBlock(c, 0))[0]).toBe(4);
  });

  it('NONE passes the caller FUA flag through', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s, { mode: 'NONE' });
    await c.write(block(4), 0, BS, 0, false);
    await c.write(block(5), 0, BS, BS, true);
    expect(s.writes.map((w) => w.fua)).toEqual([false, true]);
  });

  it('switching write-back to write-through flushes old dirty data and keeps the newest data', async () => {
    const s = new RecordingStore(4 * MiB);
    const c = cached(s);
    await c.write(block(1), 0, BS, 0, false);
    c.setMode('WRITE_THROUGH');
    expect(c.mode).toBe('WRITE_THROUGH');
    await c.write(block(2), 0, BS, 0, false); // must not be overtaken by the older dirty copy
    expect(s.durable[0]).toBe(2);
    await c.flush();
    expect(s.durable[0]).toBe(2);
    expect(c.dirtyBytes).toBe(0);
    expect(() => c.setMode('FAST' as never)).toThrow(StoreError);
  });
});

describe('CachedStore on a FLAT store', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-cache-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Forty seeds: the background flusher races the writes differently each time (one seed in ten or so found the
  // read and fill races fixed on 2026-12-02).
  it.each(Array.from({ length: 40 }, (_, k) => 42 + k))('random overlapping writes with flushes in between read back like a plain model, before and after a reopen (seed %i)', async (start) => {
    const p = path.join(dir, 'c.img');
    const size = 4 * MiB;
    const store = await FlatStore.open({ path: p, sizeBytes: size, blockSize: 512, create: true, thin: true });
    const c = new CachedStore(store, { mode: 'WRITE_BACK', sizeBytes: MiB, dirtyLimitBytes: 64 * 1024, flushDelayMs: 1, onWarning: () => undefined });
    const model = Buffer.alloc(size);
    let seed = start;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      const len = (1 + rnd(16)) * 512;
      const pos = rnd((size - len) / 512) * 512;
      const buf = Buffer.alloc(len, 1 + rnd(250));
      buf.copy(model, pos);
      await c.write(buf, 0, len, pos, rnd(20) === 0); // background flushes and explicit ones run meanwhile
      if (i % 25 === 0) pending.push(c.flush());
    }
    await Promise.all(pending);
    const back = Buffer.alloc(size);
    await c.read(back, 0, size, 0);
    expect(back.equals(model)).toBe(true);
    await c.close();
    const again = await FlatStore.open({ path: p });
    await again.read(back, 0, size, 0);
    expect(back.equals(model)).toBe(true);
    await again.close();
  });
});
