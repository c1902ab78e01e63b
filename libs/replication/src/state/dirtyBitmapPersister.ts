/**
 * The dirty bitmap's persister: pending pages and group commit (one persist cycle, one fdatasync, shared by every
 * caller joining it), the file queue and sticky failure, the clean barrier (held cleans, commitCleans), grow's file
 * part and close.
 *
 * Cleaning behind a data barrier (`setBarrier`): a clean says "both replicas hold the same data here", which is
 * only true after a power loss if that data reached both disks. With a barrier set, a cleaned region stays set in the
 * file (it is *held*) until a barrier (the owner flushes its store and the partner's) that began after the clean has
 * completed; `commitCleans` then persists the cleans. Without one, cleans persist at once.
 */
import type { FileHandle } from 'fs/promises';
import { type OpenBitmapFile, writeFreshPages, writeFully } from './dirtyBitmapFile';
import {
  DIRTY_BITMAP_REGIONS_PER_PAGE,
  extend,
  fileBytes,
  type Geometry,
  PAGE_BODY_BYTES,
  SLOT_BODY_OFFSET,
  SLOT_BYTES,
  slotOffset,
  writeHeaderSlot,
  writePageSlot,
} from './dirtyBitmapFormat';

const MAX_KEPT_SCRATCH_BYTES = 1024 * 1024;
const noop = (): void => undefined;
const floor = Math.floor;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The bit arrays the bitmap and its persister share (replaced, not resized, when the device grows). */
export interface BitmapBits {
  /** The wanted state: one bit per region. */
  bits: Uint8Array;
  /** Bits known to be set on disk AND in any version being written: a write here needs no I/O. */
  disk: Uint8Array;
}

export class BitmapPersister {
  closed = false;
  private readonly fh: FileHandle;
  private readonly fileId: number;
  /** Regions cleaned in memory but still set in the file, waiting for a data barrier (see setBarrier). */
  private held: Uint8Array;
  /** Held region → the clean's sequence number: a barrier releases only cleans older than its start. */
  private readonly heldAt = new Map<number, number>();
  private cleanSeq = 0;
  private barrier: (() => Promise<void>) | null = null;
  private committing: Promise<void> | null = null;
  /** One page body with held bits OR-ed in, reused per page written. */
  private readonly pageBody = new Uint8Array(PAGE_BODY_BYTES);
  private pendingFlag: Uint8Array;
  private pendingList: number[] = [];
  /** Sequence and slot (0/1) of each page's newest durable version. */
  private pageSeq: Float64Array;
  private pageSlot: Uint8Array;
  private headerSeq: number;
  private headerSlot: number;
  private scratch = Buffer.alloc(0);
  /** The persist cycle that writes the pages pending now; joined by every caller until it starts (group commit). */
  private nextCycle: Deferred | null = null;
  /** File operations (persist cycles, grow, close) run one at a time, in order. */
  private fileQueue: Promise<void> = Promise.resolve();
  private failure: Error | null = null;

  constructor(
    private readonly file: string,
    opened: OpenBitmapFile,
    private readonly shared: BitmapBits,
  ) {
    this.fh = opened.fh;
    this.fileId = opened.fileId;
    this.pageSeq = opened.pageSeq;
    this.pageSlot = opened.pageSlot;
    this.headerSeq = opened.headerSeq;
    this.headerSlot = opened.headerSlot;
    this.pendingFlag = new Uint8Array(opened.pageSeq.length);
    this.held = new Uint8Array(shared.bits.length);
  }

  get hasPending(): boolean {
    return this.pendingList.length > 0;
  }

  markPending(region: number): void {
    this.markPendingPage(floor(region / DIRTY_BITMAP_REGIONS_PER_PAGE));
  }

  markPendingPage(page: number): void {
    if (this.pendingFlag[page] === 0) {
      this.pendingFlag[page] = 1;
      this.pendingList.push(page);
    }
  }

  markAllPending(): void {
    for (let page = 0; page < this.pendingFlag.length; page++) this.markPendingPage(page);
  }

  /** A region was cleaned in memory: held until a barrier when one is set, else pending at once. */
  recordClean(region: number): void {
    if (this.barrier) {
      // Still set in the file until a barrier says both replicas' data is durable (commitCleans).
      this.held[region >>> 3] |= 1 << (region & 7);
      this.heldAt.set(region, ++this.cleanSeq);
    } else this.markPending(region);
  }

  setBarrier(barrier: () => Promise<void>): void {
    this.barrier = barrier;
  }

  get heldCount(): number {
    return this.heldAt.size;
  }

  /**
   * Runs the barrier and persists the cleans made before it began. Never rejects for the barrier (held cleans wait
   * for the next call); rejects if persisting fails.
   */
  async commitCleans(): Promise<void> {
    while (this.committing) await this.committing;
    if (this.heldAt.size === 0 || !this.barrier || this.closed) return;
    const upTo = this.cleanSeq;
    const run = (async () => {
      try {
        await this.barrier!();
      } catch {
        return;
      }
      if (this.closed) return;
      for (const [region, seq] of this.heldAt) {
        if (seq > upTo) continue;
        this.heldAt.delete(region);
        this.held[region >>> 3] &= ~(1 << (region & 7));
        this.markPending(region);
      }
      if (this.pendingList.length > 0) await this.schedulePersist();
    })();
    this.committing = run;
    try {
      await run;
    } finally {
      this.committing = null;
    }
  }

  /** Persists any changed bits not yet on disk, or waits for a persist already under way. */
  persistPending(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pendingList.length > 0) return this.schedulePersist();
    return this.enqueue(async () => {
      if (this.failure) throw this.failure;
    });
  }

  /** The promise of the persist cycle that will write everything pending now (one shared promise per cycle). */
  schedulePersist(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    let cycle = this.nextCycle;
    if (cycle === null) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A caller that drops the promise must not crash the process; the failure is sticky and reported again.
      promise.catch(noop);
      const created: Deferred = { promise, resolve, reject };
      this.nextCycle = cycle = created;
      void this.enqueue(() => this.runCycle(created)).catch(noop);
    }
    return cycle.promise;
  }

  /**
   * The file part of growing to `geometry`: new pages written and synced first, then the header in its other slot.
   * `apply` runs synchronously once the file holds the new geometry, to extend the owner's arrays.
   */
  grow(geometry: Geometry, currentDeviceBytes: () => number, apply: () => void): Promise<void> {
    const deviceBytes = geometry.deviceBytes;
    return this.enqueue(async () => {
      if (this.failure) throw this.failure;
      const was = currentDeviceBytes();
      if (deviceBytes === was) return;
      if (deviceBytes < was) throw new RangeError(`the dirty bitmap cannot shrink from ${was} to ${deviceBytes} bytes`);
      const oldPages = this.pageSeq.length;
      const newPages = geometry.pageCount;
      try {
        if (newPages > oldPages) {
          await writeFreshPages(this.fh, this.fileId, new Uint8Array((newPages - oldPages) * PAGE_BODY_BYTES), oldPages, newPages - oldPages);
          await this.fh.truncate(fileBytes(newPages));
          await this.fh.datasync();
        }
        const header = Buffer.alloc(SLOT_BYTES);
        const headerSeq = this.headerSeq + 1;
        const headerSlot = this.headerSlot ^ 1;
        writeHeaderSlot(header, 0, this.fileId, headerSeq, geometry);
        await writeFully(this.fh, header, 0, SLOT_BYTES, headerSlot * SLOT_BYTES);
        await this.fh.datasync();
        this.headerSeq = headerSeq;
        this.headerSlot = headerSlot;
      } catch (err) {
        throw this.fail(err);
      }
      // From here on synchronous: state changed by beginWrite during the awaits above is carried over.
      this.held = extend(this.held, newPages * PAGE_BODY_BYTES);
      this.pendingFlag = extend(this.pendingFlag, newPages);
      const pageSeq = new Float64Array(newPages).fill(1);
      pageSeq.set(this.pageSeq);
      this.pageSeq = pageSeq;
      this.pageSlot = extend(this.pageSlot, newPages);
      apply();
    });
  }

  /** Persists what is pending and closes the file; held cleans stay held (closing waits for no barrier). */
  async close(): Promise<void> {
    if (this.closed) return;
    let error: unknown = null;
    try {
      await this.persistPending();
    } catch (err) {
      error = err;
    }
    this.closed = true;
    await this.enqueue(() => this.fh.close());
    if (error) throw error;
  }

  private async runCycle(cycle: Deferred): Promise<void> {
    // From now on new marks join the next cycle.
    if (this.nextCycle === cycle) this.nextCycle = null;
    try {
      if (this.failure) throw this.failure;
      await this.writePendingPages();
      cycle.resolve();
    } catch (err) {
      cycle.reject(this.fail(err));
    }
  }

  /** One group commit: every pending page to its other slot, one fdatasync, then those bits count as durable. */
  private async writePendingPages(): Promise<void> {
    const pages = this.pendingList;
    if (pages.length === 0) return;
    this.pendingList = [];
    pages.sort((a, b) => a - b);
    if (this.scratch.length < pages.length * SLOT_BYTES) this.scratch = Buffer.alloc(pages.length * SLOT_BYTES);
    const scratch = this.scratch;
    const writes: Promise<void>[] = [];
    for (let k = 0; k < pages.length; k++) {
      const page = pages[k];
      this.pendingFlag[page] = 0;
      const start = page * PAGE_BODY_BYTES;
      let body = this.shared.bits.subarray(start, start + PAGE_BODY_BYTES);
      if (this.heldAt.size > 0) {
        // Held cleans stay set in the file.
        const held = this.held;
        const combined = this.pageBody;
        for (let j = 0; j < PAGE_BODY_BYTES; j++) combined[j] = body[j] | held[start + j];
        body = combined;
      }
      writePageSlot(scratch, k * SLOT_BYTES, this.fileId, page, this.pageSeq[page] + 1, body);
      // Bits being cleaned stop counting as durable now: the version being written may land without them.
      const disk = this.shared.disk;
      for (let j = start, end = start + PAGE_BODY_BYTES; j < end; j++) disk[j] &= body[j - start];
      writes.push(writeFully(this.fh, scratch, k * SLOT_BYTES, SLOT_BYTES, slotOffset(page, this.pageSlot[page] ^ 1)));
    }
    await Promise.all(writes);
    await this.fh.datasync();
    for (let k = 0; k < pages.length; k++) {
      const page = pages[k];
      this.pageSeq[page]++;
      this.pageSlot[page] ^= 1;
      const bodyAt = k * SLOT_BYTES + SLOT_BODY_OFFSET;
      this.shared.disk.set(scratch.subarray(bodyAt, bodyAt + PAGE_BODY_BYTES), page * PAGE_BODY_BYTES);
    }
    // Keep a small scratch for the usual few pages; let a markAll-sized one go.
    if (scratch.length > MAX_KEPT_SCRATCH_BYTES) this.scratch = Buffer.alloc(0);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.fileQueue.then(task);
    this.fileQueue = run.catch(noop);
    return run;
  }

  /** After a failed write or fdatasync the file's state is unknown: every later persist fails with this error. */
  private fail(err: unknown): Error {
    if (!this.failure) {
      this.failure = new Error(`dirty bitmap ${this.file}: persisting failed: ${(err as Error).message ?? String(err)}`);
    }
    return this.failure;
  }
}
