/**
 * Free lists of memory by power-of-two size class, so the data path does not allocate per I/O: a new ArrayBuffer
 * per write is not only a malloc and fresh pages to fault in, it is external memory V8 answers with garbage
 * collections (measured on a mirrored node under 1 MiB writes: its GC threads cost more CPU than the I/O).
 *
 * `take(size)` returns a Buffer of exactly `size` bytes over pooled memory (content not zeroed). Give it back with
 * `give` once nothing refers to it any more (for Data-In: after the socket write completes; for a write: after the
 * store and every partner are done with it). A view of a pooled buffer that starts at its first byte may be given
 * back for it; anything else (a foreign buffer, a view further in, a second give of the same memory) is ignored.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[][] = [];
  private readonly keep: number[] = [];
  /** Memory this pool made; only it is ever put on a free list. */
  private readonly ours = new WeakSet<ArrayBuffer>();
  /** Memory on a free list now, so a second give of it is refused. */
  private readonly idle = new WeakSet<ArrayBuffer>();

  constructor(
    private readonly minShift = 12,
    private readonly maxShift = 24,
    keepPerClass = 256,
    keepBytesPerClass = 64 * 1024 * 1024,
  ) {
    for (let s = 0; s <= maxShift; s++) {
      this.free.push([]);
      this.keep.push(Math.max(2, Math.min(keepPerClass, Math.floor(keepBytesPerClass / 2 ** s))));
    }
  }

  /** A buffer of exactly `size` bytes (its content is not zeroed). */
  take(size: number): Buffer {
    const shift = Math.max(this.minShift, 32 - Math.clz32(Math.max(1, size) - 1));
    if (shift > this.maxShift) return Buffer.allocUnsafeSlow(size);
    let memory = this.free[shift].pop();
    if (memory) this.idle.delete(memory);
    else {
      memory = new ArrayBuffer(1 << shift);
      this.ours.add(memory);
    }
    return Buffer.from(memory, 0, size);
  }

  give(buf: Buffer | null | undefined): void {
    if (!buf || buf.byteOffset !== 0) return;
    const memory = buf.buffer as ArrayBuffer;
    if (!this.ours.has(memory) || this.idle.has(memory)) return;
    const shift = 31 - Math.clz32(memory.byteLength);
    const list = this.free[shift];
    if (list.length >= this.keep[shift]) return;
    list.push(memory);
    this.idle.add(memory);
  }

  /** Buffers on the free lists now (for tests and telemetry). */
  get idleCount(): number {
    return this.free.reduce((n, list) => n + list.length, 0);
  }
}

/** The process-wide pool shared by the transports (Data-Out, sync frames) and the SCSI layer (Data-In). */
export const dataBuffers = new BufferPool();
