// Reserves the space of a thick FLAT image: fallocate through the native addon, zeros only where the file system refuses.
import * as fs from 'fs';
import * as os from 'os';
import { StoreError } from '../blockStore';
import { formatSize } from '../size';
import { nativeFs } from './nativeFs';

/** fallocate(fd, 0, offset, length): reserves the range (reads as zeros) and grows the file to offset + length. */
export type AllocateFn = (fd: number, offset: number, length: number) => Promise<void>;

export interface PreallocateOptions {
  /** The image's name, for messages. */
  location: string;
  /** The allocator; defaults to the addon's `allocate` (absent when the addon is not built or predates it). */
  allocate?: AllocateFn | null;
  /** Where the zero-filling fallback reports progress, one line at a time; defaults to stderr. */
  progress?: (line: string) => void;
  /** Milliseconds between two progress lines of the fallback (default 5 s). */
  progressEveryMs?: number;
}

/** How the space was reserved. */
export type PreallocateMethod = 'fallocate' | 'zeros';

const ZERO_CHUNK = 1024 * 1024;
/** The file systems that cannot fallocate answer EOPNOTSUPP (ENOSYS on kernels without the call). */
const REFUSED = new Set([os.constants.errno.EOPNOTSUPP, os.constants.errno.ENOSYS]);
const REFUSED_CODES = new Set(['EOPNOTSUPP', 'ENOTSUP', 'ENOSYS']);

function refused(err: unknown): boolean {
  const e = err as { errno?: unknown; code?: unknown };
  return (typeof e.errno === 'number' && REFUSED.has(Math.abs(e.errno))) || (typeof e.code === 'string' && REFUSED_CODES.has(e.code));
}

/**
 * Reserves bytes [from, size) of the image open on `fd` and leaves the file `size` bytes long. Uses fallocate
 * (seconds for any size, unwritten extents read as zeros); where the file system refuses it (EOPNOTSUPP) or the
 * addon cannot offer it, writes zeros instead and says so, with progress lines, through `progress`.
 * Any other failure (ENOSPC, EIO, ...) is a StoreError naming the image.
 */
export async function preallocate(fd: number, size: number, from: number, options: PreallocateOptions): Promise<PreallocateMethod> {
  if (size <= from) return 'fallocate';
  const allocate = options.allocate === undefined ? nativeFs()?.allocate : options.allocate;
  let why: string;
  if (allocate) {
    try {
      await allocate(fd, from, size - from);
      return 'fallocate';
    } catch (err) {
      if (!refused(err)) {
        throw new StoreError(`cannot reserve ${formatSize(size - from)} for ${options.location}: ${(err as Error).message}`, 'IO');
      }
      why = `the file system refuses fallocate (${(err as Error).message})`;
    }
  } else {
    why = 'the storage addon offers no fallocate (build it with: npm rebuild @tandem/storage)';
  }
  await writeZeros(fd, size, from, why, options);
  return 'zeros';
}

async function writeZeros(fd: number, size: number, from: number, why: string, options: PreallocateOptions): Promise<void> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const every = options.progressEveryMs ?? 5000;
  const total = size - from;
  const started = Date.now();
  let reported = started;
  progress(`${options.location}: ${why}; writing ${formatSize(total)} of zeros to reserve the space`);
  const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, total));
  for (let pos = from; pos < size; pos += zeros.length) {
    const len = Math.min(zeros.length, size - pos);
    await new Promise<void>((resolve, reject) =>
      fs.write(fd, zeros, 0, len, pos, (err) =>
        err ? reject(new StoreError(`cannot write zeros to ${options.location} at ${pos}: ${err.message}`, 'IO')) : resolve(),
      ),
    );
    const now = Date.now();
    if (now - reported >= every && pos + len < size) {
      reported = now;
      const done = pos + len - from;
      progress(`${options.location}: ${formatSize(done)} of ${formatSize(total)} zeros written (${Math.floor((done * 100) / total)} %)`);
    }
  }
  progress(`${options.location}: ${formatSize(total)} of zeros written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
