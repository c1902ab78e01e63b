/**
 * The one small interface every backing store implements (FLAT image files now, LSFS later).
 * Positions and lengths are in bytes and always multiples of the store's logical block size;
 * the SCSI layer has already checked them against the capacity.
 */
export interface BlockStore {
  readonly kind: 'flat' | 'lsfs';
  /** Where the data lives, for logs and error messages. */
  readonly location: string;
  readonly blockSize: number;
  readonly sizeBytes: number;
  /** True when unwritten regions cost no space (sparse FLAT, LSFS). */
  readonly thin: boolean;

  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void>;
  /** With `fua` the data is durable on stable storage before the promise resolves. */
  write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void>;
  /** Makes every completed write durable (SYNCHRONIZE CACHE). */
  flush(): Promise<void>;
  /** Online grow; shrinking is refused because it would destroy data an initiator may still use. */
  grow(newSizeBytes: number): Promise<void>;
  close(): Promise<void>;

  /**
   * Thin stores only: gives the space of a range back (UNMAP). The range reads as zeros afterwards,
   * whole allocation units inside it stop costing space. Absent when the store cannot deallocate.
   */
  discard?(position: number, length: number): Promise<void>;
  /**
   * Thin stores only: the allocated (mapped) extents inside [position, position + length), ascending,
   * at most `maxRanges` of them (GET LBA STATUS). Everything else in the range is a hole that reads as zeros.
   */
  mappedRanges?(position: number, length: number, maxRanges: number): Promise<ByteRange[]>;
}

/** A byte extent of a store. */
export interface ByteRange {
  position: number;
  length: number;
}

export class StoreError extends Error {
  /** UNAVAILABLE: this replica may not serve right now (HA: blocked, or waiting for resync); another path may. */
  constructor(message: string, readonly code: 'ENOENT' | 'EEXIST' | 'SIZE_MISMATCH' | 'BAD_SIZE' | 'BAD_SECTOR' | 'IO' | 'CLOSED' | 'UNAVAILABLE' | 'READ_ONLY') {
    super(message);
    this.name = 'StoreError';
  }
}

export const SUPPORTED_BLOCK_SIZES: readonly number[] = [512, 4096];

export function checkGeometry(sizeBytes: number, blockSize: number): void {
  if (!SUPPORTED_BLOCK_SIZES.includes(blockSize)) {
    throw new StoreError(`sector size ${blockSize} is not supported (use 512 or 4096)`, 'BAD_SECTOR');
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw new StoreError(`size ${sizeBytes} is not a positive whole number of bytes`, 'BAD_SIZE');
  }
  if (sizeBytes % blockSize !== 0) {
    throw new StoreError(`size ${sizeBytes} is not a multiple of the ${blockSize}-byte sector size`, 'BAD_SIZE');
  }
}
