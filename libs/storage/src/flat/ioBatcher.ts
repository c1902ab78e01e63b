/**
 * Gathers the preads and pwrites of one event-loop turn into one native job (`ioBatch`), so the data path pays
 * one thread hand-off per turn rather than a futex round trip per I/O (measured: waking a pool thread is the main
 * thread's largest cost per job on these VMs). The batch is sent from `setImmediate`, so it also gathers what the
 * completions of every job that finished in this turn submitted (with `process.nextTick` each completion made
 * its own small job: 1 op per job for LSFS, 4 KiB reads 110k → 340k IOPS). Large batches are split over a few
 * jobs to keep disk parallelism; a batch holding any FUA write ends with one fdatasync per file (group commit).
 * One batcher serves one file, or several (`fd` null: each op names its file), so a store made of many files
 * (LSFS segments) still makes one job per turn.
 */
import { IoBatchFn } from './nativeFs';

const MAX_JOBS = 4;
const MIN_OPS_PER_JOB = 8;

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

  /** `fd` null: a batcher for several files, every `submit` names its own. */
  constructor(private readonly fd: number | null, private readonly ioBatch: IoBatchFn, private readonly location: string) {}

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
    const ops = this.pending;
    if (ops.length === 0) return;
    this.pending = [];
    const jobs = Math.max(1, Math.min(MAX_JOBS, Math.floor(ops.length / MIN_OPS_PER_JOB)));
    const per = Math.ceil(ops.length / jobs);
    for (let start = 0; start < ops.length; start += per) this.submitJob(ops.slice(start, start + per));
  }

  private submitJob(ops: Pending[]): void {
    const n = ops.length;
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
