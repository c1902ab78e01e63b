/**
 * Per partner, a persisted, crash-safe record of which regions of this replica may differ from that partner.
 *
 * It doubles as an activity log: a region is marked dirty BEFORE a local write is applied (durably, when its bit
 * was not already durable), so after a crash the set bits cover every region that may differ. Regions are cleaned
 * lazily: once idle (no write in flight, last write at least idleCleanMs ago) when the partner acknowledged every
 * write there, or by resync. A region whose write the partner did not get is sticky: only resync cleans it.
 * Writes in flight and idleness are counted per activity unit (`activityBytes`: one region, or the extent an owner
 * marks whole), so a region is cleaned when its unit is idle.
 *
 * File layout: 4 KiB slots in pairs. Pair 0 holds the file header, pair 1+p holds bitmap page p (32,512 regions).
 * A page is never overwritten in place: a new version goes to the pair's other slot with sequence+1, and on open
 * the valid slot with the higher sequence wins (double buffering). A torn write (power loss mid-persist) therefore
 * damages only the version being written, which nobody was told was durable; the previous version stays readable.
 *
 *   slot: 0 magic u32 ('TDBH' header / 'TDBP' page) · 4 page index u32 · 8 sequence u64 · 16 file id u32 ·
 *         20 reserved (8 bytes) · 28 body (4064 bytes) · 4092 CRC32C of bytes [0,4092)
 *   header body: version, regionBytes, regionCount, deviceBytes (u64), pageCount, regionsPerPage
 *   page body: one bit per region, region r = bit (r & 7) of byte (r >> 3) of the page, LSB first
 *
 * On open: a page with no valid slot, a damaged header copy, a different regionBytes or a smaller device → the file is not
 * trusted: it is copied to `<file>.corrupt`, replaced by an all-dirty one, and `trusted` is false. A page with one
 * valid slot and one damaged (non-zero, invalid) slot is taken as a torn write: the valid version is used but the
 * whole page is marked dirty, since the damaged slot might have been a newer version (`damagedPages` counts them).
 * Every bit found set on open is sticky: after a restart nothing says the partner has those regions.
 *
 * Cleaning behind a data barrier (`setCleanBarrier`): a clean says "both replicas hold the same data here", which is
 * only true after a power loss if that data reached both disks. With a barrier set, a cleaned region stays set in the
 * file (it is *held*) until a barrier (the owner flushes its store and the partner's) that began after the clean has
 * completed; `commitCleans` (run by sweep and flush) then persists the cleans. Without one, cleans persist at once.
 */
import { crc32c } from '@tandem/storage';
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import type { FileHandle } from 'fs/promises';
import * as path from 'path';

export interface DirtyBitmapOptions {
  deviceBytes: number;
  /** Power of two ≥ 4096; default 64 KiB. */
  regionBytes?: number;
  /** A region the partner has is cleaned once idle this long; default 5000. */
  idleCleanMs?: number;
  /**
   * Writes in flight and cleaning candidates are counted per unit of this many bytes (a multiple of regionBytes;
   * default one region). An owner that marks whole extents (HaDevice's activity log) sets the extent size: one count
   * per write instead of one per region. A region is then cleaned only when its whole unit is idle.
   */
  activityBytes?: number;
}

const SLOT_BYTES = 4096;
const PAIR_BYTES = 2 * SLOT_BYTES;
const SLOT_BODY_OFFSET = 28;
const SLOT_CRC_OFFSET = SLOT_BYTES - 4;
const PAGE_BODY_BYTES = SLOT_CRC_OFFSET - SLOT_BODY_OFFSET; // 4064
/** Regions per bitmap page. */
export const DIRTY_BITMAP_REGIONS_PER_PAGE = PAGE_BODY_BYTES * 8; // 32,512
const HEADER_MAGIC = 0x54444248; // 'TDBH'
const PAGE_MAGIC = 0x54444250; // 'TDBP'
const FILE_VERSION = 1;
const TWO_POW_32 = 0x1_0000_0000;
/** Region indices live in Uint32Arrays where 0xFFFFFFFF means "no region". */
const MAX_REGIONS = 0xffff_fffe;
const DEFAULT_REGION_BYTES = 64 * 1024;
const DEFAULT_IDLE_CLEAN_MS = 5000;
/** Pages read or created per I/O on open. */
const PAGES_PER_CHUNK = 128;
const MAX_KEPT_SCRATCH_BYTES = 1024 * 1024;
const noop = (): void => undefined;
// Bound once: global lookups are slow inside vm contexts (jest), and these run per region on the data path.
const floor = Math.floor;
const imul = Math.imul;
const dateNow = Date.now;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Geometry {
  regionBytes: number;
  deviceBytes: number;
  regionCount: number;
  pageCount: number;
}

export class DirtyBitmap {
  readonly regionBytes: number;
  private deviceBytesValue: number;
  private regionCountValue: number;
  private pageCount: number;
  private readonly idleCleanMs: number;

  /** The wanted state: one bit per region. */
  private bits: Uint8Array;
  /** Bits known to be set on disk AND in any version being written: a write here needs no I/O. */
  private disk: Uint8Array;
  /** Dirty regions only resync may clean (subset of bits). */
  private sticky: Uint8Array;
  /** Regions cleaned in memory but still set in the file, waiting for a data barrier (see setCleanBarrier). */
  private held: Uint8Array;
  /** Held region → the clean's sequence number: a barrier releases only cleans older than its start. */
  private readonly heldAt = new Map<number, number>();
  private cleanSeq = 0;
  private barrier: (() => Promise<void>) | null = null;
  private committing: Promise<void> | null = null;
  /** One page body with held bits OR-ed in, reused per page written. */
  private readonly pageBody = new Uint8Array(PAGE_BODY_BYTES);
  private count = 0;
  /** Writes in flight and cleaning candidates, per unit of `unitRegions` regions. */
  private readonly activity = new RegionActivity();
  private unitRegions = 1;

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
  private closed = false;

  /** false when the file could not be trusted on open (then everything is dirty until a full resync clears it). */
  readonly trusted: boolean;
  /** Why the file was not trusted, for the log; null when trusted. */
  readonly untrustedReason: string | null;
  /** The file did not exist and was created all clean (the owner decides whether that is plausible). */
  readonly created: boolean;
  /** Pages found with a torn newer version on open; each was marked wholly dirty. */
  readonly damagedPages: number;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private readonly fileId: number,
    geometry: Geometry,
    idleCleanMs: number,
    bits: Uint8Array,
    pageSeq: Float64Array,
    pageSlot: Uint8Array,
    headerSeq: number,
    headerSlot: number,
    status: { trusted: boolean; untrustedReason: string | null; created: boolean; damagedPages: number },
  ) {
    this.regionBytes = geometry.regionBytes;
    this.deviceBytesValue = geometry.deviceBytes;
    this.regionCountValue = geometry.regionCount;
    this.pageCount = geometry.pageCount;
    this.idleCleanMs = idleCleanMs;
    this.bits = bits;
    this.disk = Uint8Array.from(bits);
    this.sticky = Uint8Array.from(bits);
    this.held = new Uint8Array(bits.length);
    this.count = countBits(bits);
    this.pendingFlag = new Uint8Array(geometry.pageCount);
    this.pageSeq = pageSeq;
    this.pageSlot = pageSlot;
    this.headerSeq = headerSeq;
    this.headerSlot = headerSlot;
    this.trusted = status.trusted;
    this.untrustedReason = status.untrustedReason;
    this.created = status.created;
    this.damagedPages = status.damagedPages;
  }

  /**
   * Opens the bitmap, creating it (all clean) when absent. An existing file that cannot be trusted (bad header or
   * page, different regionBytes, smaller device) is replaced by an all-dirty one and `trusted` is false. A larger
   * deviceBytes than stored (the device grew) extends it with clean regions.
   */
  static async open(file: string, options: DirtyBitmapOptions): Promise<DirtyBitmap> {
    const regionBytes = options.regionBytes ?? DEFAULT_REGION_BYTES;
    const activityBytes = options.activityBytes ?? regionBytes;
    if (!(Number.isInteger(activityBytes) && activityBytes >= regionBytes && activityBytes % regionBytes === 0)) {
      throw new RangeError(`activityBytes ${activityBytes} must be a multiple of regionBytes ${regionBytes}`);
    }
    const bitmap = await DirtyBitmap.openFile(file, options, regionBytes);
    bitmap.unitRegions = activityBytes / regionBytes;
    return bitmap;
  }

  private static async openFile(file: string, options: DirtyBitmapOptions, regionBytes: number): Promise<DirtyBitmap> {
    const idleCleanMs = options.idleCleanMs ?? DEFAULT_IDLE_CLEAN_MS;
    const geometry = geometryOf(regionBytes, options.deviceBytes);
    if (!(idleCleanMs >= 0)) throw new RangeError(`idleCleanMs ${idleCleanMs} must be ≥ 0`);

    let fh: FileHandle;
    try {
      fh = await fsp.open(file, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return DirtyBitmap.create(file, geometry, idleCleanMs, null);
    }
    let loaded: LoadedFile;
    try {
      loaded = await readBitmapFile(fh, geometry);
    } catch (err) {
      await fh.close();
      throw err;
    }
    if (!loaded.ok) {
      await fh.close();
      // Kept for inspection; the replacement is renamed over the original, so a crash never leaves no file at all.
      await fsp.copyFile(file, `${file}.corrupt`);
      return DirtyBitmap.create(file, geometry, idleCleanMs, loaded.reason);
    }
    const stored = geometryOf(regionBytes, loaded.deviceBytes);
    const bitmap = new DirtyBitmap(file, fh, loaded.fileId, stored, idleCleanMs, loaded.bits, loaded.pageSeq, loaded.pageSlot, loaded.headerSeq, loaded.headerSlot, {
      trusted: true,
      untrustedReason: null,
      created: false,
      damagedPages: loaded.damagedPages.length,
    });
    try {
      if (loaded.damagedPages.length > 0) {
        for (const page of loaded.damagedPages) bitmap.markPageDirty(page);
        await bitmap.schedulePersist();
      }
      if (geometry.deviceBytes > stored.deviceBytes) await bitmap.grow(geometry.deviceBytes);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return bitmap;
  }

  /** Writes a new file beside the target and renames it over: all clean, or all dirty and sticky when untrusted. */
  private static async create(file: string, geometry: Geometry, idleCleanMs: number, untrustedReason: string | null): Promise<DirtyBitmap> {
    const bits = new Uint8Array(geometry.pageCount * PAGE_BODY_BYTES);
    if (untrustedReason !== null) setRegionRange(bits, 0, geometry.regionCount);
    const fileId = randomBytes(4).readUInt32BE(0);
    const tmp = `${file}.tmp`;
    const out = await fsp.open(tmp, 'w');
    try {
      const header = Buffer.alloc(SLOT_BYTES);
      writeHeaderSlot(header, 0, fileId, 1, geometry);
      await writeFully(out, header, 0, SLOT_BYTES, 0);
      await writeFreshPages(out, fileId, bits, 0, geometry.pageCount);
      await out.truncate(fileBytes(geometry.pageCount));
      await out.sync();
    } finally {
      await out.close();
    }
    await fsp.rename(tmp, file);
    await syncDirectory(path.dirname(file));
    const fh = await fsp.open(file, 'r+');
    const pageSeq = new Float64Array(geometry.pageCount).fill(1);
    const pageSlot = new Uint8Array(geometry.pageCount);
    return new DirtyBitmap(file, fh, fileId, geometry, idleCleanMs, bits, pageSeq, pageSlot, 1, 0, {
      trusted: untrustedReason === null,
      untrustedReason,
      created: untrustedReason === null,
      damagedPages: 0,
    });
  }

  get regionCount(): number {
    return this.regionCountValue;
  }

  get deviceBytes(): number {
    return this.deviceBytesValue;
  }

  get dirtyCount(): number {
    return this.count;
  }

  /**
   * Marks the regions of [position, position+length) dirty and counts the write in flight. Returns null when every
   * region was already durably dirty (no I/O, no allocation: the hot path), else a promise resolving once the new
   * bits are durable (written + fdatasync), shared by every caller joining the same persist cycle. If it rejects,
   * do not apply the write; endWrite(…, false) still releases it.
   */
  beginWrite(position: number, length: number): Promise<void> | null {
    this.checkRange(position, length);
    if (length === 0) return null;
    const regionBytes = this.regionBytes;
    const last = floor((position + length - 1) / regionBytes);
    const bits = this.bits;
    const disk = this.disk;
    let mustPersist = false;
    const first = floor(position / regionBytes);
    const unitRegions = this.unitRegions;
    for (let u = floor(first / unitRegions), lastUnit = floor(last / unitRegions); u <= lastUnit; u++) {
      const slot = this.activity.insert(u); // may reallocate the table: index its arrays only afterwards
      this.activity.inflight[slot]++;
    }
    for (let r = first; r <= last; r++) {
      const byte = r >>> 3;
      const bit = 1 << (r & 7);
      if ((bits[byte] & bit) === 0) {
        bits[byte] |= bit;
        this.count++;
      }
      if ((disk[byte] & bit) === 0) {
        this.markPending(r);
        mustPersist = true;
      }
    }
    return mustPersist ? this.schedulePersist() : null;
  }

  /**
   * The write ended. `partnerHasIt`: the partner applied it too (synchronized and acknowledged): the regions may be
   * cleaned once idle for idleCleanMs with nothing in flight. false: they stay dirty (sticky) until resync cleans them.
   */
  endWrite(position: number, length: number, partnerHasIt: boolean): void {
    // A write finishing after close changes nothing: its regions were marked durably before it started.
    if (this.closed) return;
    this.checkRange(position, length);
    if (length === 0) return;
    const regionBytes = this.regionBytes;
    const last = floor((position + length - 1) / regionBytes);
    const activity = this.activity;
    const first = floor(position / regionBytes);
    for (let r = first; r <= last; r++) {
      const byte = r >>> 3;
      const bit = 1 << (r & 7);
      if ((this.bits[byte] & bit) === 0) {
        // A write that never went through beginWrite: record it anyway, persisted lazily.
        this.bits[byte] |= bit;
        this.count++;
        this.markPending(r);
      }
      // The partner lacks it: only resync cleans it (sweep skips sticky regions of an idle unit).
      if (!partnerHasIt) this.sticky[byte] |= bit;
    }
    const now = partnerHasIt ? dateNow() : 0;
    const unitRegions = this.unitRegions;
    for (let u = floor(first / unitRegions), lastUnit = floor(last / unitRegions); u <= lastUnit; u++) {
      let i = activity.find(u);
      if (i >= 0 && activity.inflight[i] > 0) activity.inflight[i]--;
      if (partnerHasIt) {
        if (i < 0) i = activity.insert(u);
        activity.candidate[i] = 1;
        activity.lastEndMs[i] = now;
      }
      if (i >= 0 && activity.inflight[i] === 0 && activity.candidate[i] === 0) activity.removeAt(i);
    }
  }

  /** The partner is no longer synchronized: every dirty region becomes sticky (only cleanRegion clears it). */
  freeze(): void {
    this.sticky.set(this.bits);
    this.dropCleaningCandidates();
  }

  /** Every region dirty and sticky (initial sync, or the partner's bitmap cannot be trusted); durable on resolve. */
  async markAll(): Promise<void> {
    this.checkOpen();
    setRegionRange(this.bits, 0, this.regionCountValue);
    this.sticky.set(this.bits);
    this.count = this.regionCountValue;
    this.dropCleaningCandidates();
    for (let page = 0; page < this.pageCount; page++) this.markPendingPage(page);
    await this.schedulePersist();
  }

  /**
   * Resync copied this region: clean it, unless a write is in flight there (then it stays as it is and false is
   * returned). Persisted lazily by the next sweep or flush.
   */
  cleanRegion(region: number): boolean {
    this.checkRegion(region);
    const i = this.activity.find(floor(region / this.unitRegions));
    if (i >= 0) {
      if (this.activity.inflight[i] > 0) return false;
      // A unit of one region has nothing left to clean; a larger one keeps its other regions' candidacy.
      if (this.unitRegions === 1) this.activity.removeAt(i);
    }
    this.clearRegion(region);
    return true;
  }

  /**
   * Cleans idle non-sticky regions (no write in flight, last write ≥ idleCleanMs ago) and persists every cleaned bit
   * not yet on disk. Call it periodically (the owner runs the timer). Returns how many regions it cleaned.
   */
  async sweep(nowMs: number = Date.now()): Promise<number> {
    this.checkOpen();
    const a = this.activity;
    let cleaned = 0;
    // removeAt shifts a later entry into slot i, so slot i is examined again rather than skipped.
    const unitRegions = this.unitRegions;
    for (let i = 0; i < a.capacity; ) {
      const unit = a.keys[i];
      if (unit !== EMPTY && a.inflight[i] === 0) {
        if (a.candidate[i] === 0) {
          a.removeAt(i);
          continue;
        }
        if (nowMs - a.lastEndMs[i] >= this.idleCleanMs) {
          a.removeAt(i);
          const end = Math.min((unit + 1) * unitRegions, this.regionCountValue);
          for (let region = unit * unitRegions; region < end; region++) {
            if ((this.sticky[region >>> 3] & (1 << (region & 7))) === 0 && this.clearRegion(region)) cleaned++;
          }
          continue;
        }
      }
      i++;
    }
    if (this.pendingList.length > 0) await this.schedulePersist();
    await this.commitCleans();
    return cleaned;
  }

  /**
   * Makes cleans wait for a data barrier before they reach the file: `barrier` must make every write acknowledged so
   * far durable on both replicas (flush the local store and the partner's). It may reject (partner unreachable):
   * the held cleans then stay held, which errs on the side of copying more.
   */
  setCleanBarrier(barrier: () => Promise<void>): void {
    this.barrier = barrier;
  }

  /** Regions cleaned in memory whose clean is not in the file yet (waiting for a barrier). */
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

  /** Persists any changed bits not yet on disk (waits for a persist already under way), then held cleans if it can. */
  async flush(): Promise<void> {
    await this.persistPending();
    await this.commitCleans();
  }

  private persistPending(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pendingList.length > 0) return this.schedulePersist();
    return this.enqueue(async () => {
      if (this.failure) throw this.failure;
    });
  }

  isDirty(region: number): boolean {
    return region >= 0 && region < this.regionCountValue && (this.bits[region >>> 3] & (1 << (region & 7))) !== 0;
  }

  /** Whether only resync may clean this region. */
  isSticky(region: number): boolean {
    return region >= 0 && region < this.regionCountValue && (this.sticky[region >>> 3] & (1 << (region & 7))) !== 0;
  }

  /** Ascending dirty region indices (a snapshot). */
  dirtyRegions(): number[] {
    const out: number[] = [];
    const bits = this.bits;
    const words = new Uint32Array(bits.buffer, bits.byteOffset, bits.length >>> 2);
    for (let w = 0; w < words.length; w++) {
      if (words[w] === 0) continue;
      for (let byte = w << 2, end = byte + 4; byte < end; byte++) {
        let v = bits[byte];
        while (v !== 0) {
          const low = v & -v;
          out.push(byte * 8 + (31 - Math.clz32(low)));
          v ^= low;
        }
      }
    }
    return out;
  }

  /** dirtyCount × regionBytes, the last region counted only up to deviceBytes. */
  dirtyBytes(): number {
    let bytes = this.count * this.regionBytes;
    const last = this.regionCountValue - 1;
    if (this.isDirty(last)) bytes -= last * this.regionBytes + this.regionBytes - this.deviceBytesValue;
    return bytes;
  }

  /**
   * The device grew: new regions are clean. New pages are written and synced first, then the header (in its other
   * slot), so a crash in between leaves the old, still valid, geometry. Writes beyond the old size must wait for
   * this to resolve. Shrinking is refused.
   */
  async grow(deviceBytes: number): Promise<void> {
    this.checkOpen();
    const geometry = geometryOf(this.regionBytes, deviceBytes);
    await this.enqueue(async () => {
      if (this.failure) throw this.failure;
      if (deviceBytes === this.deviceBytesValue) return;
      if (deviceBytes < this.deviceBytesValue) throw new RangeError(`the dirty bitmap cannot shrink from ${this.deviceBytesValue} to ${deviceBytes} bytes`);
      const oldPages = this.pageCount;
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
      this.bits = extend(this.bits, newPages * PAGE_BODY_BYTES);
      this.disk = extend(this.disk, newPages * PAGE_BODY_BYTES);
      this.sticky = extend(this.sticky, newPages * PAGE_BODY_BYTES);
      this.held = extend(this.held, newPages * PAGE_BODY_BYTES);
      this.pendingFlag = extend(this.pendingFlag, newPages);
      const pageSeq = new Float64Array(newPages).fill(1);
      pageSeq.set(this.pageSeq);
      this.pageSeq = pageSeq;
      this.pageSlot = extend(this.pageSlot, newPages);
      this.pageCount = newPages;
      this.regionCountValue = geometry.regionCount;
      this.deviceBytesValue = deviceBytes;
    });
  }

  /** Persists what is pending and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    let error: unknown = null;
    try {
      // Held cleans stay held: closing waits for no barrier, and more set bits only means more copying.
      await this.persistPending();
    } catch (err) {
      error = err;
    }
    this.closed = true;
    await this.enqueue(() => this.fh.close());
    if (error) throw error;
  }

  // ---- persistence ----------------------------------------------------------------------------------------------

  /** The promise of the persist cycle that will write everything pending now (one shared promise per cycle). */
  private schedulePersist(): Promise<void> {
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
      let body = this.bits.subarray(start, start + PAGE_BODY_BYTES);
      if (this.heldAt.size > 0) {
        // Held cleans stay set in the file.
        const held = this.held;
        const combined = this.pageBody;
        for (let j = 0; j < PAGE_BODY_BYTES; j++) combined[j] = body[j] | held[start + j];
        body = combined;
      }
      writePageSlot(scratch, k * SLOT_BYTES, this.fileId, page, this.pageSeq[page] + 1, body);
      // Bits being cleaned stop counting as durable now: the version being written may land without them.
      const disk = this.disk;
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
      this.disk.set(scratch.subarray(bodyAt, bodyAt + PAGE_BODY_BYTES), page * PAGE_BODY_BYTES);
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

  private markPending(region: number): void {
    this.markPendingPage(floor(region / DIRTY_BITMAP_REGIONS_PER_PAGE));
  }

  private markPendingPage(page: number): void {
    if (this.pendingFlag[page] === 0) {
      this.pendingFlag[page] = 1;
      this.pendingList.push(page);
    }
  }

  /** Every region of a page dirty and sticky (a torn page found on open). */
  private markPageDirty(page: number): void {
    const first = page * DIRTY_BITMAP_REGIONS_PER_PAGE;
    const end = Math.min(first + DIRTY_BITMAP_REGIONS_PER_PAGE, this.regionCountValue);
    setRegionRange(this.bits, first, end);
    setRegionRange(this.sticky, first, end);
    this.count = countBits(this.bits);
    this.markPendingPage(page);
  }

  private clearRegion(region: number): boolean {
    const byte = region >>> 3;
    const bit = 1 << (region & 7);
    this.sticky[byte] &= ~bit;
    if ((this.bits[byte] & bit) === 0) return false;
    this.bits[byte] &= ~bit;
    this.count--;
    if (this.barrier) {
      // Still set in the file until a barrier says both replicas' data is durable (commitCleans).
      this.held[byte] |= bit;
      this.heldAt.set(region, ++this.cleanSeq);
    } else this.markPending(region);
    return true;
  }

  private dropCleaningCandidates(): void {
    const a = this.activity;
    for (let i = 0; i < a.capacity; ) {
      if (a.keys[i] !== EMPTY && a.candidate[i] !== 0) {
        a.candidate[i] = 0;
        if (a.inflight[i] === 0) {
          a.removeAt(i);
          continue;
        }
      }
      i++;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`dirty bitmap ${this.file} is closed`);
  }

  private checkRange(position: number, length: number): void {
    if (this.closed) throw new Error(`dirty bitmap ${this.file} is closed`);
    if (!(position >= 0 && length >= 0 && position + length <= this.deviceBytesValue)) {
      throw new RangeError(`range [${position}, ${position + length}) is outside the ${this.deviceBytesValue}-byte device`);
    }
  }

  private checkRegion(region: number): void {
    this.checkOpen();
    if (!(Number.isInteger(region) && region >= 0 && region < this.regionCountValue)) {
      throw new RangeError(`region ${region} is outside 0..${this.regionCountValue - 1}`);
    }
  }
}

// ---- activity: writes in flight and regions waiting to be cleaned -------------------------------------------------

const EMPTY = 0xffff_ffff;

/**
 * Open-addressing hash table (linear probing, backward-shift deletion) in typed arrays, keyed by activity unit: how
 * many writes are in flight there, and whether/when it became a cleaning candidate. Sized by the working set, not the
 * device, and allocation-free except when it grows.
 */
class RegionActivity {
  keys!: Uint32Array;
  inflight!: Uint32Array;
  candidate!: Uint8Array;
  lastEndMs!: Float64Array;
  capacity = 0;
  private size = 0;
  private shift = 0;
  private mask = 0;

  constructor() {
    this.allocate(10);
  }

  find(region: number): number {
    const keys = this.keys;
    for (let i = this.home(region); ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === region) return i;
      if (k === EMPTY) return -1;
    }
  }

  /** The slot of `region`, added (nothing in flight, not a candidate) when absent. */
  insert(region: number): number {
    const keys = this.keys;
    let i = this.home(region);
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === region) return i;
      if (k === EMPTY) break;
    }
    if ((this.size + 1) * 2 > this.capacity) {
      this.rehash();
      return this.insert(region);
    }
    keys[i] = region;
    this.inflight[i] = 0;
    this.candidate[i] = 0;
    this.lastEndMs[i] = 0;
    this.size++;
    return i;
  }

  removeAt(hole: number): void {
    const { keys, mask } = this;
    let i = hole;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(keys[j]);
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      keys[i] = keys[j];
      this.inflight[i] = this.inflight[j];
      this.candidate[i] = this.candidate[j];
      this.lastEndMs[i] = this.lastEndMs[j];
      i = j;
    }
    keys[i] = EMPTY;
    this.size--;
  }

  private home(region: number): number {
    return imul(region, 0x9e3779b1) >>> this.shift;
  }

  private allocate(log2: number): void {
    this.capacity = 1 << log2;
    this.mask = this.capacity - 1;
    this.shift = 32 - log2;
    this.keys = new Uint32Array(this.capacity).fill(EMPTY);
    this.inflight = new Uint32Array(this.capacity);
    this.candidate = new Uint8Array(this.capacity);
    this.lastEndMs = new Float64Array(this.capacity);
    this.size = 0;
  }

  private rehash(): void {
    const { keys, inflight, candidate, lastEndMs, capacity } = this;
    this.allocate(32 - this.shift + 1);
    for (let j = 0; j < capacity; j++) {
      if (keys[j] === EMPTY) continue;
      const i = this.insert(keys[j]);
      this.inflight[i] = inflight[j];
      this.candidate[i] = candidate[j];
      this.lastEndMs[i] = lastEndMs[j];
    }
  }
}

// ---- file format -------------------------------------------------------------------------------------------------

function geometryOf(regionBytes: number, deviceBytes: number): Geometry {
  if (!(Number.isInteger(regionBytes) && regionBytes >= 4096 && regionBytes <= 2 ** 30 && (regionBytes & (regionBytes - 1)) === 0)) {
    throw new RangeError(`regionBytes ${regionBytes} must be a power of two from 4096 to 2^30`);
  }
  if (!(Number.isSafeInteger(deviceBytes) && deviceBytes > 0)) throw new RangeError(`deviceBytes ${deviceBytes} must be a positive safe integer`);
  const regionCount = Math.ceil(deviceBytes / regionBytes);
  if (regionCount > MAX_REGIONS) throw new RangeError(`${regionCount} regions is too many; use larger regions`);
  return { regionBytes, deviceBytes, regionCount, pageCount: Math.ceil(regionCount / DIRTY_BITMAP_REGIONS_PER_PAGE) };
}

function fileBytes(pageCount: number): number {
  return (1 + pageCount) * PAIR_BYTES;
}

function slotOffset(page: number, slot: number): number {
  return (1 + page) * PAIR_BYTES + slot * SLOT_BYTES;
}

function writeSlotFrame(buf: Buffer, at: number, magic: number, index: number, fileId: number, seq: number): void {
  buf.writeUInt32BE(magic, at);
  buf.writeUInt32BE(index, at + 4);
  buf.writeUInt32BE(Math.floor(seq / TWO_POW_32), at + 8);
  buf.writeUInt32BE(seq >>> 0, at + 12);
  buf.writeUInt32BE(fileId, at + 16);
  buf.writeUInt32BE(0, at + 20);
  buf.writeUInt32BE(0, at + 24);
}

function sealSlot(buf: Buffer, at: number): void {
  buf.writeUInt32BE(crc32c(buf.subarray(at, at + SLOT_CRC_OFFSET)), at + SLOT_CRC_OFFSET);
}

function writeHeaderSlot(buf: Buffer, at: number, fileId: number, seq: number, g: Geometry): void {
  buf.fill(0, at, at + SLOT_BYTES);
  writeSlotFrame(buf, at, HEADER_MAGIC, 0, fileId, seq);
  const b = at + SLOT_BODY_OFFSET;
  buf.writeUInt32BE(FILE_VERSION, b);
  buf.writeUInt32BE(g.regionBytes, b + 4);
  buf.writeUInt32BE(g.regionCount, b + 8);
  buf.writeUInt32BE(Math.floor(g.deviceBytes / TWO_POW_32), b + 12);
  buf.writeUInt32BE(g.deviceBytes >>> 0, b + 16);
  buf.writeUInt32BE(g.pageCount, b + 20);
  buf.writeUInt32BE(DIRTY_BITMAP_REGIONS_PER_PAGE, b + 24);
  sealSlot(buf, at);
}

function writePageSlot(buf: Buffer, at: number, fileId: number, page: number, seq: number, body: Uint8Array): void {
  writeSlotFrame(buf, at, PAGE_MAGIC, page, fileId, seq);
  buf.set(body, at + SLOT_BODY_OFFSET);
  sealSlot(buf, at);
}

/** Writes pages [firstPage, firstPage+count) as version 1 in slot 0 (slot 1 left zero), bodies from `bits`. */
async function writeFreshPages(fh: FileHandle, fileId: number, bits: Uint8Array, firstPage: number, count: number): Promise<void> {
  const chunk = Buffer.alloc(Math.min(count, PAGES_PER_CHUNK) * PAIR_BYTES);
  for (let done = 0; done < count; done += PAGES_PER_CHUNK) {
    const n = Math.min(PAGES_PER_CHUNK, count - done);
    chunk.fill(0);
    for (let k = 0; k < n; k++) {
      const start = (done + k) * PAGE_BODY_BYTES;
      writePageSlot(chunk, k * PAIR_BYTES, fileId, firstPage + done + k, 1, bits.subarray(start, start + PAGE_BODY_BYTES));
    }
    await writeFully(fh, chunk, 0, n * PAIR_BYTES, slotOffset(firstPage + done, 0));
  }
}

/** >0: a valid slot's sequence; 0: an all-zero slot (never written); -1: damaged. */
function examineSlot(buf: Buffer, at: number, magic: number, index: number, fileId: number | null): number {
  const valid =
    buf.readUInt32BE(at) === magic &&
    buf.readUInt32BE(at + 4) === index &&
    (fileId === null || buf.readUInt32BE(at + 16) === fileId) &&
    crc32c(buf.subarray(at, at + SLOT_CRC_OFFSET)) === buf.readUInt32BE(at + SLOT_CRC_OFFSET);
  if (valid) {
    const seq = buf.readUInt32BE(at + 8) * TWO_POW_32 + buf.readUInt32BE(at + 12);
    if (seq > 0) return seq;
  }
  for (let i = at; i < at + SLOT_BYTES; i++) if (buf[i] !== 0) return -1;
  return 0;
}

type LoadedFile =
  | { ok: false; reason: string }
  | {
      ok: true;
      fileId: number;
      deviceBytes: number;
      bits: Uint8Array;
      pageSeq: Float64Array;
      pageSlot: Uint8Array;
      headerSeq: number;
      headerSlot: number;
      damagedPages: number[];
    };

async function readBitmapFile(fh: FileHandle, wanted: Geometry): Promise<LoadedFile> {
  const head = Buffer.alloc(PAIR_BYTES);
  await readFully(fh, head, PAIR_BYTES, 0);
  const seqA = examineSlot(head, 0, HEADER_MAGIC, 0, null);
  const seqB = examineSlot(head, SLOT_BYTES, HEADER_MAGIC, 0, null);
  if (seqA <= 0 && seqB <= 0) return { ok: false, reason: 'no valid header' };
  // The header changes only on grow; a damaged copy could be a newer geometry whose new regions held marks.
  if (seqA < 0 || seqB < 0) return { ok: false, reason: 'a damaged header copy' };
  const headerSlot = seqB > seqA ? 1 : 0;
  const headerSeq = Math.max(seqA, seqB);
  const h = headerSlot * SLOT_BYTES;
  const b = h + SLOT_BODY_OFFSET;
  const fileId = head.readUInt32BE(h + 16);
  const version = head.readUInt32BE(b);
  if (version !== FILE_VERSION) return { ok: false, reason: `unsupported version ${version}` };
  const regionBytes = head.readUInt32BE(b + 4);
  if (regionBytes !== wanted.regionBytes) return { ok: false, reason: `regionBytes ${regionBytes} differs from ${wanted.regionBytes}` };
  const regionCount = head.readUInt32BE(b + 8);
  const deviceBytes = head.readUInt32BE(b + 12) * TWO_POW_32 + head.readUInt32BE(b + 16);
  const pageCount = head.readUInt32BE(b + 20);
  if (head.readUInt32BE(b + 24) !== DIRTY_BITMAP_REGIONS_PER_PAGE) return { ok: false, reason: 'different page geometry' };
  let stored: Geometry;
  try {
    stored = geometryOf(regionBytes, deviceBytes);
  } catch {
    return { ok: false, reason: `bad device size ${deviceBytes}` };
  }
  if (stored.regionCount !== regionCount || stored.pageCount !== pageCount) return { ok: false, reason: 'inconsistent header' };
  if (deviceBytes > wanted.deviceBytes) return { ok: false, reason: `the device shrank from ${deviceBytes} to ${wanted.deviceBytes} bytes` };

  const bits = new Uint8Array(pageCount * PAGE_BODY_BYTES);
  const pageSeq = new Float64Array(pageCount);
  const pageSlot = new Uint8Array(pageCount);
  const damagedPages: number[] = [];
  const chunk = Buffer.alloc(Math.min(pageCount, PAGES_PER_CHUNK) * PAIR_BYTES);
  for (let first = 0; first < pageCount; first += PAGES_PER_CHUNK) {
    const n = Math.min(PAGES_PER_CHUNK, pageCount - first);
    chunk.fill(0);
    await readFully(fh, chunk, n * PAIR_BYTES, slotOffset(first, 0));
    for (let k = 0; k < n; k++) {
      const page = first + k;
      const a = examineSlot(chunk, k * PAIR_BYTES, PAGE_MAGIC, page, fileId);
      const c = examineSlot(chunk, k * PAIR_BYTES + SLOT_BYTES, PAGE_MAGIC, page, fileId);
      if (a <= 0 && c <= 0) return { ok: false, reason: `page ${page} has no valid version` };
      const slot = c > a ? 1 : 0;
      if (a < 0 || c < 0) damagedPages.push(page);
      pageSeq[page] = Math.max(a, c);
      pageSlot[page] = slot;
      const at = k * PAIR_BYTES + slot * SLOT_BYTES + SLOT_BODY_OFFSET;
      bits.set(chunk.subarray(at, at + PAGE_BODY_BYTES), page * PAGE_BODY_BYTES);
    }
  }
  // Bits past the last region are always written as zero; one set there means the page lies.
  for (let r = regionCount; r < pageCount * DIRTY_BITMAP_REGIONS_PER_PAGE; r++) {
    if ((bits[r >>> 3] & (1 << (r & 7))) !== 0) return { ok: false, reason: 'bits set beyond the last region' };
  }
  return { ok: true, fileId, deviceBytes, bits, pageSeq, pageSlot, headerSeq, headerSlot, damagedPages };
}

// ---- helpers -------------------------------------------------------------------------------------------------------

/** Sets the bits of regions [from, to). */
function setRegionRange(bits: Uint8Array, from: number, to: number): void {
  let r = from;
  for (; r < to && (r & 7) !== 0; r++) bits[r >>> 3] |= 1 << (r & 7);
  const fullEnd = to - ((to - r) & 7);
  if (fullEnd > r) {
    bits.fill(0xff, r >>> 3, fullEnd >>> 3);
    r = fullEnd;
  }
  for (; r < to; r++) bits[r >>> 3] |= 1 << (r & 7);
}

function countBits(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) {
    let v = bits[i];
    while (v !== 0) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

function extend<T extends Uint8Array>(array: T, length: number): T {
  if (array.length >= length) return array;
  const bigger = new Uint8Array(length);
  bigger.set(array);
  return bigger as T;
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) return; // past the end: the rest stays zero
    done += bytesRead;
  }
}

async function writeFully(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, offset + done, length - done, position + done);
    done += bytesWritten;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
