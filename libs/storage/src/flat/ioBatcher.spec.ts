import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { nativeFs } from './nativeFs';
import { IoBatcher } from './ioBatcher';

const native = nativeFs();

describe('IoBatcher', () => {
  let dir: string;
  let fd: number;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-batch-'));
    fd = fs.openSync(path.join(dir, 'f.img'), 'w+');
    fs.ftruncateSync(fd, 1 << 20);
  });
  afterEach(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is available (the addon is built by npm ci)', () => {
    expect(native).not.toBeNull();
  });

  it('runs the writes and reads of one event-loop turn as batched jobs, in order per buffer', async () => {
    const calls: number[] = [];
    const b = new IoBatcher(fd, (...args) => {
      calls.push(args[2].length);
      native!.ioBatch(...args);
    }, 'f.img');
    const blocks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(4096, i + 1));
    await Promise.all(blocks.map((blk, i) => b.submit(true, blk, i * 4096, i === 39)));
    expect(calls.reduce((a, c) => a + c, 0)).toBe(40);
    expect(calls.length).toBeLessThanOrEqual(4); // one tick: a handful of jobs, not forty
    const back = blocks.map(() => Buffer.alloc(4096));
    await Promise.all(back.map((blk, i) => b.submit(false, blk, i * 4096, false)));
    back.forEach((blk, i) => expect(blk.equals(blocks[i])).toBe(true));
  });

  it('rejects each failed I/O with its errno and lets the others through', async () => {
    const ro = fs.openSync(path.join(dir, 'f.img'), 'r');
    try {
      const b = new IoBatcher(ro, native!.ioBatch, 'f.img');
      const read = b.submit(false, Buffer.alloc(512), 0, false);
      const write = b.submit(true, Buffer.alloc(512, 1), 0, false);
      await expect(read).resolves.toBeUndefined();
      await expect(write).rejects.toMatchObject({ code: 'EBADF', syscall: 'pwrite' });
    } finally {
      fs.closeSync(ro);
    }
  });

  it('serves several files in one job when each I/O names its file', async () => {
    const other = fs.openSync(path.join(dir, 'g.img'), 'w+');
    try {
      const calls: (number | Int32Array)[] = [];
      const b = new IoBatcher(null, (...args) => {
        calls.push(args[0]);
        native!.ioBatch(...args);
      }, dir);
      // Interleaved and adjacent per file: the native side joins each file's neighbours into one pwritev.
      const blocks = Array.from({ length: 6 }, (_, i) => Buffer.alloc(4096, 0x10 + i));
      await Promise.all(blocks.map((blk, i) => b.submit(true, blk, Math.floor(i / 2) * 4096, i === 5, i % 2 === 0 ? fd : other)));
      expect(calls).toHaveLength(1);
      expect(calls[0]).toBeInstanceOf(Int32Array);
      const f = fs.readFileSync(path.join(dir, 'f.img'));
      const g = fs.readFileSync(path.join(dir, 'g.img'));
      for (let k = 0; k < 3; k++) {
        expect(f.subarray(k * 4096, (k + 1) * 4096).equals(blocks[2 * k])).toBe(true);
        expect(g.subarray(k * 4096, (k + 1) * 4096).equals(blocks[2 * k + 1])).toBe(true);
      }
      await expect(new IoBatcher(null, native!.ioBatch, dir).submit(false, Buffer.alloc(1), 0, false)).rejects.toThrow(/without a file/);
    } finally {
      fs.closeSync(other);
    }
  });

  it('keeps submission order inside a job and finishes a short run of adjacent reads one by one', async () => {
    const b = new IoBatcher(fd, native!.ioBatch, 'f.img');
    const end = 1 << 20;
    const written = Buffer.alloc(4096, 0x5a);
    // Adjacent reads across the end of the file: one preadv comes back short, the rest read as zeros.
    const reads = [Buffer.alloc(4096, 1), Buffer.alloc(4096, 1), Buffer.alloc(4096, 1)];
    await Promise.all([
      b.submit(true, written, end - 4096, false),
      ...reads.map((r, i) => b.submit(false, r, end - 4096 + i * 4096, false)),
    ]);
    expect(reads[0].equals(written)).toBe(true);
    expect(reads[1].equals(Buffer.alloc(4096))).toBe(true);
    expect(reads[2].equals(Buffer.alloc(4096))).toBe(true);
  });

  it('writes whole data through the 64 KiB pieces: long writes, unaligned starts, runs that cross a piece boundary', async () => {
    fs.ftruncateSync(fd, 4 << 20);
    const b = new IoBatcher(fd, native!.ioBatch, 'f.img');
    const expected = Buffer.alloc(4 << 20);
    const ops: Array<[Buffer, number]> = [];
    const put = (length: number, position: number, seed: number) => {
      const buf = Buffer.alloc(length);
      for (let i = 0; i < length; i++) buf[i] = (i * 31 + seed) & 0xff;
      buf.copy(expected, position);
      ops.push([buf, position]);
    };
    put(1 << 20, 0, 1); // aligned, sixteen pieces
    put(300 * 1024 + 512, 1_500_001, 2); // unaligned start and end
    for (let i = 0; i < 40; i++) put(4096, 3 * (1 << 20) - 8192 + i * 4096, 10 + i); // one adjacent run over a boundary
    put(512, (4 << 20) - 512, 99); // the last sector
    await Promise.all(ops.map(([buf, position], i) => b.submit(true, buf, position, i === ops.length - 1)));
    expect(fs.readFileSync(path.join(dir, 'f.img')).equals(expected)).toBe(true);
  });

  describe('at once on the event loop (ioTry)', () => {
    afterEach(() => jest.restoreAllMocks());
    // These specs are about which ops go inline, not about stalls: on a busy machine a preempted turn overran the 1 ms
    // inline budget (or the 2 ms stall limit) and sent the rest to the pool. So the native call gets a minute and the
    // batcher's clock stands still; the stall spec below keeps the real clock and budget.
    const counting = () => {
      const still = performance.now();
      jest.spyOn(performance, 'now').mockImplementation(() => still);
      const jobs: number[] = [];
      const batcher = new IoBatcher(fd, (...args) => {
        jobs.push(args[2].length);
        native!.ioBatch(...args);
      }, 'f.img', (fds, kinds, buffers, positions) => native!.ioTry(fds, kinds, buffers, positions, 60_000_000));
      return { jobs, batcher };
    };

    it('runs whole-page writes and cached reads without a pool job', async () => {
      const { jobs, batcher } = counting();
      const blocks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(4096, i + 1));
      await Promise.all(blocks.map((blk, i) => batcher.submit(true, blk, i * 8192, false)));
      const back = blocks.map(() => Buffer.alloc(4096));
      await Promise.all(back.map((blk, i) => batcher.submit(false, blk, i * 8192, false)));
      expect(jobs).toEqual([]);
      back.forEach((blk, i) => expect(blk.equals(blocks[i])).toBe(true));
      const f = fs.readFileSync(path.join(dir, 'f.img'));
      blocks.forEach((blk, i) => expect(f.subarray(i * 8192, i * 8192 + 4096).equals(blk)).toBe(true));
    });

    it('sends a FUA write, a part-page write and a read the page cache lacks to the pool, with every op after them', async () => {
      const { jobs, batcher } = counting();
      const a = Buffer.alloc(4096, 0xa1);
      const fua = Buffer.alloc(4096, 0xf0);
      const afterFua = Buffer.alloc(4096);
      await Promise.all([
        batcher.submit(true, a, 0, false), // at once
        batcher.submit(true, fua, 4096, true), // FUA: to the pool, and so is all that follows
        batcher.submit(false, afterFua, 4096, false), // sees the FUA write: order kept across the split
      ]);
      expect(jobs).toEqual([2]);
      expect(afterFua.equals(fua)).toBe(true);

      await Promise.all([batcher.submit(true, Buffer.alloc(512, 3), 8192, false), batcher.submit(true, Buffer.alloc(4096, 4), 12288, false)]);
      expect(jobs).toEqual([2, 2]); // a 512-byte write may need its page read first: not on the event loop

      // Past the end of the file nothing is cached: the read goes to the pool, which fills zeros.
      const past = Buffer.alloc(4096, 1);
      const cached = Buffer.alloc(4096);
      await Promise.all([batcher.submit(false, cached, 0, false), batcher.submit(false, past, 1 << 20, false)]);
      expect(jobs).toEqual([2, 2, 1]);
      expect(cached.equals(a)).toBe(true);
      expect(past.equals(Buffer.alloc(4096))).toBe(true);
    });

    it('turns itself off for a while when the inline part stalls', async () => {
      const jobs: number[] = [];
      let slow = true;
      const batcher = new IoBatcher(fd, (...args) => {
        jobs.push(args[2].length);
        native!.ioBatch(...args);
      }, 'f.img', (...args) => {
        const until = performance.now() + (slow ? 5 : 0);
        while (performance.now() < until); // a write the kernel throttled
        return native!.ioTry(...args);
      });
      await batcher.submit(true, Buffer.alloc(4096, 1), 0, false);
      expect(batcher.inlineStalls).toBe(1);
      expect(jobs).toEqual([]); // the stalled turn itself did run
      slow = false;
      await batcher.submit(true, Buffer.alloc(4096, 2), 4096, false);
      expect(jobs).toEqual([1]); // off: to the pool
      await new Promise((r) => setTimeout(r, 1100));
      await batcher.submit(true, Buffer.alloc(4096, 3), 8192, false);
      expect(jobs).toEqual([1]); // back on after a second
      expect(fs.readFileSync(path.join(dir, 'f.img')).subarray(0, 12288).equals(Buffer.concat([1, 2, 3].map((v) => Buffer.alloc(4096, v))))).toBe(true);
    });

    it('reports a failed inline write with its errno', async () => {
      const ro = fs.openSync(path.join(dir, 'f.img'), 'r');
      try {
        const batcher = new IoBatcher(ro, native!.ioBatch, 'f.img', native!.ioTry);
        await expect(batcher.submit(true, Buffer.alloc(4096, 1), 0, false)).rejects.toMatchObject({ code: 'EBADF', syscall: 'pwrite' });
      } finally {
        fs.closeSync(ro);
      }
    });

    it('rejects bad arguments', () => {
      expect(() => native!.ioTry(fd, new Uint8Array([2]), [Buffer.alloc(1)], new Float64Array([0]), 1000)).toThrow(/kind 0 or 1/);
      expect(() => native!.ioTry(fd, new Uint8Array([0]), [Buffer.alloc(1)], new Float64Array([0]), -1)).toThrow(/ioTry/);
    });
  });

  it('drains in-flight jobs before its owner closes the file', async () => {
    const b = new IoBatcher(fd, native!.ioBatch, 'f.img');
    let done = 0;
    for (let i = 0; i < 64; i++) void b.submit(true, Buffer.alloc(4096, 7), i * 4096, false).then(() => done++);
    await b.drain();
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(64);
  });
});
