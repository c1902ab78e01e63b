/**
 * The Linux file calls Node lacks, from the small N-API addon in libs/storage/native (built by
 * `npm ci` through this package's install script): hole punching, fallocate and SEEK_DATA/SEEK_HOLE.
 * When the addon did not build, thin FLAT stores simply offer no discard (no UNMAP) and thick ones are reserved by
 * writing zeros.
 */
import * as path from 'path';

/**
 * Runs preads (kind 0) and pwrites (kind 1) of whole buffers as one pool job, on one file or one file per op
 * (`fd` an Int32Array); results are 0 or -errno. Adjacent ops of one kind on one file go as one preadv/pwritev.
 */
export type IoBatchFn = (
  fd: number | Int32Array,
  kinds: Uint8Array,
  buffers: Buffer[],
  positions: Float64Array,
  sync: boolean,
  done: (results: Int32Array) => void,
) => void;

/**
 * Runs the same ops at once on the calling thread while none waits for the disk: reads only from the page cache
 * (preadv2 RWF_NOWAIT), writes as they are (pass only whole-page, non-FUA writes), stopping after `budgetMicros`.
 * Results: 0 or -errno for the ops that ran, 1 for the ops left (from the first read not in the page cache on).
 */
export type IoTryFn = (fd: number | Int32Array, kinds: Uint8Array, buffers: Buffer[], positions: Float64Array, budgetMicros: number) => Int32Array;

export interface NativeFs {
  /** Batched positional I/O for the data path (see ioBatcher.ts). */
  ioBatch: IoBatchFn;
  /** The part of a batch that can run on the event loop without waiting for the disk (see ioBatcher.ts). */
  ioTry: IoTryFn;
  /** CRC32C through ISA-L; absent when the addon was built without it (see crc32c.ts). */
  crc32c?: (data: Uint8Array, initial?: number) => number;
  /** fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE), on the libuv thread pool. */
  punchHole(fd: number, offset: number, length: number): Promise<void>;
  /**
   * fallocate(mode 0) on the libuv thread pool: reserves the range and grows the file to offset + length; rejects
   * with `errno` EOPNOTSUPP where the file system cannot. Absent from addons built before it (see preallocate.ts).
   */
  allocate?(fd: number, offset: number, length: number): Promise<void>;
  /** lseek(SEEK_DATA): the first data byte at or after offset, or -1 when only a hole follows. */
  seekData(fd: number, offset: number): number;
  /** lseek(SEEK_HOLE): the first hole byte at or after offset (the end of the file counts as a hole), or -1 past the end. */
  seekHole(fd: number, offset: number): number;
}

/** From src/flat or dist/flat, the addon is two levels up in native/build. */
const ADDON_PATH = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'tandem_fs.node');

let loaded: NativeFs | null | undefined;
let loadError = '';

/** The addon, or null (see `nativeFsError`) when it is not built or not loadable on this platform. */
export function nativeFs(): NativeFs | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = require(ADDON_PATH) as NativeFs;
  } catch (err) {
    loaded = null;
    loadError =
      `the native addon ${ADDON_PATH} could not be loaded (${(err as Error).message.split('\n')[0]}); ` +
      'build it with: npm rebuild @tandem/storage (needs python3, make and g++)';
  }
  return loaded;
}

/** Why `nativeFs()` is null; empty when it loaded. */
export function nativeFsError(): string {
  nativeFs();
  return loadError;
}
