/**
 * Runs the preads and pwrites of one event-loop turn at once on the event loop where none waits for the disk
 * (`ioTry`), and gathers the rest into one native job (`ioBatch`), so the data path pays
 * one thread hand-off per turn rather than a futex round trip per I/O (measured: waking a pool thread is the main
 * thread's largest cost per job on these VMs). The batch is sent from `setImmediate`, so it also gathers what the
 * completions of every job that finished in this turn submitted (with `process.nextTick` each completion made
 * its own small job: 1 op per job for LSFS, 4 KiB reads 110k → 340k IOPS). Large batches are split over a few
 * jobs to keep disk parallelism; a batch holding any FUA write ends with one fdatasync per file (group commit).
 * One batcher serves one file, or several (`fd` null: each op names its file), so a store made of many files
 * (LSFS segments) still makes one job per turn.
 *
 * At once, on the event loop: the longest prefix of the turn's ops (so the order of submission holds) made of reads
 * of at most 64 KiB, which run only if the page cache has them (preadv2 RWF_NOWAIT; the first that misses and
 * everything after it go to the pool), and of whole-page writes of at most 64 KiB without FUA, which land in the page
 * cache without reading or flushing anything. A thread-pool job costs the event loop more than such a write itself
 * (measured: single node 4 KiB writes 41k → 86k IOPS, docs/benchmarks.md). A buffered write can still sleep where
 * the kernel throttles writers over its dirty-page limits: `ioTry` stops after INLINE_BUDGET_US, and a turn whose
 * inline part took over INLINE_STALL_MS turns inline I/O off for a second, doubling up to a minute while it recurs.
 * `TANDEM_IO_INLINE=0` turns it off altogether.
 */
import { performance } from 'perf_hooks';
import type { IoBatchFn, IoTryFn } from './nativeFs';

const MAX_JOBS = 4;
const MIN_OPS_PER_JOB = 8;
const PAGE = 4096;
const INLINE_OP_BYTES = 64 * 1024;
const INLINE_TURN_BYTES = 1024 * 1024;
const INLINE_BUDGET_US = 1000;
const INLINE_STALL_MS = 2;
const INLINE_BACKOFF_MS = 1000;
const INLINE_BACKOFF_MAX_MS = 60_000;
const INLINE_ENABLED = process.env.TANDEM_IO_INLINE !== '0';

interface Pending {
  fd: number;
  write: boolean;
  buf: Buffer;
  position: number;
  fua: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class IoBatcher {
  private pending: Pending[] = [];
  private scheduled = false;
  private jobsInFlight = 0;
  private drained: Array<() => void> = [];
  /** Inline I/O is off until this time (performance.now) after a stall; the next pause if it stalls again. */
  private inlineOffUntil = 0;
  private inlineBackoffMs = INLINE_BACKOFF_MS;
  /** Turns whose inline part stalled (for tests and diagnostics). */
  inlineStalls = 0;

  /** `fd` null: a batcher for several files, every `submit` names its own. `ioTry` null: everything goes to the pool. */
  constructor(
    private readonly fd: number | null,
    private readonly ioBatch: IoBatchFn,
    private readonly location: string,
    private readonly ioTry: IoTryFn | null = null,
  ) {}

  submit(write: boolean, buf: Buffer, position: number, fua: boolean, fd = this.fd): Promise<void> {
    if (fd === null) return Promise.reject(new Error(`${this.location}: an I/O without a file`));
    return new Promise((resolve, reject) => {
      this.pending.push({ fd, write, buf, position, fua, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(flushBatch, this);
      }
    });
  }

  /** Resolves once every submitted I/O has completed (the fd must stay open until then). */
  drain(): Promise<void> {
    this.flush();
    if (this.jobsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  flush(): void {
    this.scheduled = false;
    let ops = this.pending;
    if (ops.length === 0) return;
    this.pending = [];
    if (this.ioTry !== null && INLINE_ENABLED) {
      const ran = this.runInline(ops);
      if (ran === ops.length) return;
      if (ran > 0) ops = ops.slice(ran);
    }
    const jobs = Math.max(1, Math.min(MAX_JOBS, Math.floor(ops.length / MIN_OPS_PER_JOB)));
    const per = Math.ceil(ops.length / jobs);
    for (let start = 0; start < ops.length; start += per) this.submitJob(ops.slice(start, start + per));
  }

  /** Runs the eligible prefix of `ops` on the event loop; returns how many ops completed (resolved or rejected). */
  private runInline(ops: Pending[]): number {
    const now = performance.now();
    if (now < this.inlineOffUntil) return 0;
    let n = 0;
    let bytes = 0;
    while (n < ops.length) {
      const op = ops[n];
      const length = op.buf.length;
      if (length > INLINE_OP_BYTES || bytes + length > INLINE_TURN_BYTES) break;
      if (op.write && (op.fua || op.position % PAGE !== 0 || length % PAGE !== 0)) break;
      bytes += length;
      n++;
    }
    if (n === 0) return 0;
    const { fds, kinds, buffers, positions } = this.arrays(ops, n);
    let results: Int32Array;
    try {
      results = this.ioTry!(fds ?? (this.fd as number), kinds, buffers, positions, INLINE_BUDGET_US);
    } catch {
      return 0; // the pool reports whatever is wrong with these ops
    }
    const took = performance.now() - now;
    if (took > INLINE_STALL_MS) {
      this.inlineStalls++;
      this.inlineOffUntil = performance.now() + this.inlineBackoffMs;
      this.inlineBackoffMs = Math.min(INLINE_BACKOFF_MAX_MS, this.inlineBackoffMs * 2);
    } else if (this.inlineBackoffMs !== INLINE_BACKOFF_MS && took < INLINE_STALL_MS / 2) {
      this.inlineBackoffMs = INLINE_BACKOFF_MS;
    }
    let ran = 0;
    while (ran < n && results[ran] !== 1) {
      const r = results[ran];
      const op = ops[ran];
      if (r === 0) op.resolve();
      else op.reject(errnoError(-r, op.write ? 'pwrite' : 'pread', fds ? `${this.location} (fd ${op.fd})` : this.location));
      ran++;
    }
    return ran;
  }

  /** The native calls' arguments for the first n ops; `sync` when any of them is FUA. */
  private arrays(ops: Pending[], n: number) {
    const fds = this.fd === null ? new Int32Array(n) : null;
    const kinds = new Uint8Array(n);
    const positions = new Float64Array(n);
    const buffers: Buffer[] = new Array(n);
    let sync = false;
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      if (fds) fds[i] = op.fd;
      kinds[i] = op.write ? 1 : 0;
      positions[i] = op.position;
      buffers[i] = op.buf;
      if (op.fua) sync = true;
    }
    return { fds, kinds, buffers, positions, sync };
  }

  private submitJob(ops: Pending[]): void {
    const n = ops.length;
    const { fds, kinds, buffers, positions, sync } = this.arrays(ops, n);
    try {
      this.jobsInFlight++;
      this.ioBatch(fds ?? (this.fd as number), kinds, buffers, positions, sync, (results: Int32Array) => {
        if (--this.jobsInFlight === 0 && this.drained.length > 0) this.drained.splice(0).forEach((fn) => fn());
        for (let i = 0; i < n; i++) {
          const r = results[i];
          if (r === 0) ops[i].resolve();
          else ops[i].reject(errnoError(-r, ops[i].write ? 'pwrite' : 'pread', fds ? `${this.location} (fd ${ops[i].fd})` : this.location));
        }
      });
    } catch (err) {
      this.jobsInFlight--;
      for (const op of ops) op.reject(err as Error);
    }
  }
}

function flushBatch(batcher: IoBatcher): void {
  batcher.flush();
}

const ERRNO_CODES: Record<number, string> = { 5: 'EIO', 9: 'EBADF', 28: 'ENOSPC', 30: 'EROFS', 122: 'EDQUOT', 125: 'ECANCELED' };

function errnoError(errno: number, syscall: string, location: string): NodeJS.ErrnoException {
  const code = ERRNO_CODES[errno] ?? `E${errno}`;
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${location}: ${code}`);
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  return err;
}
