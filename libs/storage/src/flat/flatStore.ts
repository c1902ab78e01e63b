import * as fs from 'fs';
import { BlockStore, ByteRange, StoreError, checkGeometry } from '../blockStore';
import { IoBatcher } from './ioBatcher';
import { NativeFs, nativeFs } from './nativeFs';
import { preallocate } from './preallocate';

export interface FlatStoreOptions {
  path: string;
  /** Required when creating; when opening, must match the file if given. */
  sizeBytes?: number;
  blockSize?: number;
  /** Create the image if it is missing. */
  create?: boolean;
  /** Sparse image (thin): no space reserved up front. Otherwise the space is reserved with fallocate (see preallocate.ts). */
  thin?: boolean;
}

/** A FLAT store: one image file, positional I/O, durability through fdatasync. */
export class FlatStore implements BlockStore {
  readonly kind = 'flat' as const;
  private closed = false;
  /** Batches the data path's I/O per event-loop tick when the native addon is present; plain fs otherwise. */
  private readonly batcher: IoBatcher | null;
  /** Present on thin images when the native addon is available (see nativeFs.ts). */
  readonly discard?: (position: number, length: number) => Promise<void>;
  readonly mappedRanges?: (position: number, length: number, maxRanges: number) => Promise<ByteRange[]>;

  private constructor(
    private readonly fd: number,
    readonly location: string,
    readonly blockSize: number,
    private size: number,
    readonly thin: boolean,
  ) {
    const addon = nativeFs();
    this.batcher = addon ? new IoBatcher(fd, addon.ioBatch, location, addon.ioTry) : null;
    const native = thin ? addon : null;
    if (native) {
      this.discard = (position, length) => this.punchHole(native, position, length);
      this.mappedRanges = (position, length, maxRanges) => this.dataExtents(native, position, length, maxRanges);
    }
  }

  get sizeBytes(): number {
    return this.size;
  }

  static async open(options: FlatStoreOptions): Promise<FlatStore> {
    const blockSize = options.blockSize ?? 512;
    const { path } = options;
    let fd: number;
    let created = false;
    try {
      fd = fs.openSync(path, 'r+');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new StoreError(`cannot open ${path}: ${(err as Error).message}`, 'IO');
      if (!options.create) throw new StoreError(`image ${path} does not exist (add "create" to make it)`, 'ENOENT');
      if (options.sizeBytes === undefined) throw new StoreError(`creating ${path} needs a size`, 'BAD_SIZE');
      checkGeometry(options.sizeBytes, blockSize);
      try {
        fd = fs.openSync(path, 'wx+');
      } catch (e) {
        throw new StoreError(`cannot create ${path}: ${(e as Error).message}`, 'IO');
      }
      created = true;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new StoreError(`${path} is not a regular file`, 'IO');
      let size = st.size;
      if (created) {
        size = options.sizeBytes!;
        if (options.thin) fs.ftruncateSync(fd, size);
        else await preallocate(fd, size, 0, { location: path });
        fs.fsyncSync(fd);
      } else {
        if (options.sizeBytes !== undefined && options.sizeBytes !== size) {
          throw new StoreError(`image ${path} holds ${size} bytes but size ${options.sizeBytes} was given`, 'SIZE_MISMATCH');
        }
        checkGeometry(size, blockSize);
      }
      const thin = options.thin ?? (created ? false : st.blocks * 512 < size);
      return new FlatStore(fd, path, blockSize, size, thin);
    } catch (err) {
      fs.closeSync(fd);
      if (created) fs.rmSync(path, { force: true });
      throw err;
    }
  }

  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    if (this.batcher && !this.closed) return this.batcher.submit(false, buf.subarray(bufOffset, bufOffset + length), position, false);
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StoreError(`${this.location} is closed`, 'CLOSED'));
      const step = (done: number): void => {
        fs.read(this.fd, buf, bufOffset + done, length - done, position + done, (err, n) => {
          if (err) return reject(err);
          if (n === 0) {
            // Past end of file cannot happen for a checked range; fill with zeros rather than loop forever.
            buf.fill(0, bufOffset + done, bufOffset + length);
            return resolve();
          }
          if (done + n < length) return step(done + n);
          resolve();
        });
      };
      step(0);
    });
  }

  write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    if (this.batcher && !this.closed) return this.batcher.submit(true, buf.subarray(bufOffset, bufOffset + length), position, fua);
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StoreError(`${this.location} is closed`, 'CLOSED'));
      const step = (done: number): void => {
        fs.write(this.fd, buf, bufOffset + done, length - done, position + done, (err, n) => {
          if (err) return reject(err);
          if (done + n < length) return step(done + n);
          if (!fua) return resolve();
          fs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve()));
        });
      };
      step(0);
    });
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StoreError(`${this.location} is closed`, 'CLOSED'));
      fs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve()));
    });
  }

  private async punchHole(native: NativeFs, position: number, length: number): Promise<void> {
    if (this.closed) throw new StoreError(`${this.location} is closed`, 'CLOSED');
    if (length <= 0) return;
    try {
      await native.punchHole(this.fd, position, length);
    } catch (err) {
      throw new StoreError(`cannot deallocate ${length} bytes at ${position} of ${this.location}: ${(err as Error).message}`, 'IO');
    }
  }

  /** Walks SEEK_DATA/SEEK_HOLE: metadata only, so it runs inline (one syscall per extent edge). */
  private async dataExtents(native: NativeFs, position: number, length: number, maxRanges: number): Promise<ByteRange[]> {
    if (this.closed) throw new StoreError(`${this.location} is closed`, 'CLOSED');
    const end = position + length;
    const ranges: ByteRange[] = [];
    let at = position;
    try {
      while (at < end && ranges.length < maxRanges) {
        const data = native.seekData(this.fd, at);
        if (data < 0 || data >= end) break;
        let hole = native.seekHole(this.fd, data);
        if (hole < 0 || hole > end) hole = end;
        ranges.push({ position: data, length: hole - data });
        at = hole;
      }
    } catch (err) {
      throw new StoreError(`cannot read the allocation map of ${this.location}: ${(err as Error).message}`, 'IO');
    }
    return ranges;
  }

  async grow(newSizeBytes: number): Promise<void> {
    checkGeometry(newSizeBytes, this.blockSize);
    if (newSizeBytes < this.size) {
      throw new StoreError(`cannot shrink ${this.location} from ${this.size} to ${newSizeBytes} bytes`, 'BAD_SIZE');
    }
    if (newSizeBytes === this.size) return;
    if (this.thin) fs.ftruncateSync(this.fd, newSizeBytes);
    else {
      try {
        await preallocate(this.fd, newSizeBytes, this.size, { location: this.location });
      } catch (err) {
        // fallocate may have reserved (and the zeros written) part of the range: the image keeps its old size.
        fs.ftruncateSync(this.fd, this.size);
        throw err;
      }
    }
    fs.fsyncSync(this.fd);
    this.size = newSizeBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Batched I/O still in the pool uses this fd: it must not be closed (and its number reused) under them.
    await this.batcher?.drain();
    await new Promise<void>((resolve) => fs.fdatasync(this.fd, () => resolve()));
    fs.closeSync(this.fd);
  }
}
