/**
 * Free lists of Buffers by power-of-two size class, so the data path does not allocate per I/O.
 * A buffer taken with `take` must be given back with `give` once nothing refers to it any more
 * (for Data-In: after the socket write completes).
 */
export class BufferPool {
  private readonly free: Buffer[][] = [];

  constructor(
    private readonly minShift = 12,
    private readonly maxShift = 24,
    private readonly keepPerClass = 64,
  ) {
    for (let s = 0; s <= maxShift; s++) this.free.push([]);
  }

  /** A buffer of at least `size` bytes (its content is not zeroed). */
  take(size: number): Buffer {
    const shift = Math.max(this.minShift, 32 - Math.clz32(Math.max(1, size) - 1));
    if (shift > this.maxShift) return Buffer.allocUnsafeSlow(size);
    const list = this.free[shift];
    return list.pop() ?? Buffer.allocUnsafeSlow(1 << shift);
  }

  give(buf: Buffer | null | undefined): void {
    if (!buf) return;
    const len = buf.buffer.byteLength;
    if (buf.byteOffset !== 0 || len !== buf.length) return; // slices and foreign buffers are not ours
    const shift = 31 - Math.clz32(len);
    if (1 << shift !== len || shift < this.minShift || shift > this.maxShift) return;
    const list = this.free[shift];
    if (list.length < this.keepPerClass) list.push(buf);
  }
}

/** The process-wide pool shared by the transport (Data-Out) and the SCSI layer (Data-In). */
export const dataBuffers = new BufferPool();
