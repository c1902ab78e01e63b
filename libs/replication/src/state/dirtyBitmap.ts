/**
 * The DirtyBitmap: per partner, a persisted, crash-safe record of which regions of this replica may differ from that
 * partner. It composes the file format (dirtyBitmapFormat), file I/O (dirtyBitmapFile), region activity
 * (dirtyBitmapActivity) and the persister (dirtyBitmapPersister), and owns the bits' meaning and the public API.
 *
 * It doubles as an activity log: a region is marked dirty BEFORE a local write is applied (durably, when its bit
 * was not already durable), so after a crash the set bits cover every region that may differ. Regions are cleaned
 * lazily: once idle (no write in flight, last write at least idleCleanMs ago) when the partner acknowledged every
 * write there, or by resync. A region whose write the partner did not get is sticky: only resync cleans it.
 * Writes in flight and idleness are counted per activity unit (`activityBytes`: one region, or the extent an owner
 * marks whole), so a region is cleaned when its unit is idle.
 *
 * On open (see dirtyBitmapFile) an untrusted file is replaced by an all-dirty one and `trusted` is false; a torn
 * page is marked wholly dirty (`damagedPages`).
 * Every bit found set on open is sticky: after a restart nothing says the partner has those regions.
 *
 * Cleaning behind a data barrier (`setCleanBarrier`): see dirtyBitmapPersister; `commitCleans` (run by sweep and
 * flush) persists the cleans a completed barrier released. Without a barrier, cleans persist at once.
 */
import { EMPTY, RegionActivity } from './dirtyBitmapActivity';
import { type OpenBitmapFile, openBitmapFile } from './dirtyBitmapFile';
import { countBits, DIRTY_BITMAP_REGIONS_PER_PAGE, extend, type Geometry, geometryOf, PAGE_BODY_BYTES, setRegionRange } from './dirtyBitmapFormat';
import { type BitmapBits, BitmapPersister } from './dirtyBitmapPersister';

export { DIRTY_BITMAP_REGIONS_PER_PAGE } from './dirtyBitmapFormat';

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

const DEFAULT_REGION_BYTES = 64 * 1024;
const DEFAULT_IDLE_CLEAN_MS = 5000;
// Bound once: global lookups are slow inside vm contexts (jest), and these run per region on the data path.
const floor = Math.floor;
const dateNow = Date.now;

export class DirtyBitmap {
  readonly regionBytes: number;
  private deviceBytesValue: number;
  private regionCountValue: number;
  private readonly idleCleanMs: number;

  /** bits (the wanted state) and disk (what is durable), shared with the persister. */
  private readonly shared: BitmapBits;
  /** Dirty regions only resync may clean (subset of bits). */
  private sticky: Uint8Array;
  private count = 0;
  /** Writes in flight and cleaning candidates, per unit of `unitRegions` regions. */
  private readonly activity = new RegionActivity();
  private unitRegions = 1;
  private readonly persister: BitmapPersister;

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
    opened: OpenBitmapFile,
    geometry: Geometry,
    idleCleanMs: number,
    bits: Uint8Array,
    status: { trusted: boolean; untrustedReason: string | null; created: boolean; damagedPages: number },
  ) {
    this.regionBytes = geometry.regionBytes;
    this.deviceBytesValue = geometry.deviceBytes;
    this.regionCountValue = geometry.regionCount;
    this.idleCleanMs = idleCleanMs;
    this.shared = { bits, disk: Uint8Array.from(bits) };
    this.sticky = Uint8Array.from(bits);
    this.count = countBits(bits);
    this.persister = new BitmapPersister(file, opened, this.shared);
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
    const found = await openBitmapFile(file, geometry);
    const bitmap = new DirtyBitmap(file, found.opened, found.geometry, idleCleanMs, found.bits, found.status);
    try {
      if (found.damagedPages.length > 0) {
        for (const page of found.damagedPages) bitmap.markPageDirty(page);
        await bitmap.persister.schedulePersist();
      }
      if (geometry.deviceBytes > found.geometry.deviceBytes) await bitmap.grow(geometry.deviceBytes);
    } catch (err) {
      await found.opened.fh.close();
      throw err;
    }
    return bitmap;
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
    const bits = this.shared.bits;
    const disk = this.shared.disk;
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
        this.persister.markPending(r);
        mustPersist = true;
      }
    }
    return mustPersist ? this.persister.schedulePersist() : null;
  }

  /**
   * The write ended. `partnerHasIt`: the partner applied it too (synchronized and acknowledged): the regions may be
   * cleaned once idle for idleCleanMs with nothing in flight. false: they stay dirty (sticky) until resync cleans them.
   */
  endWrite(position: number, length: number, partnerHasIt: boolean): void {
    // A write finishing after close changes nothing: its regions were marked durably before it started.
    if (this.persister.closed) return;
    this.checkRange(position, length);
    if (length === 0) return;
    const regionBytes = this.regionBytes;
    const last = floor((position + length - 1) / regionBytes);
    const activity = this.activity;
    const bits = this.shared.bits;
    const first = floor(position / regionBytes);
    for (let r = first; r <= last; r++) {
      const byte = r >>> 3;
      const bit = 1 << (r & 7);
      if ((bits[byte] & bit) === 0) {
        // A write that never went through beginWrite: record it anyway, persisted lazily.
        bits[byte] |= bit;
        this.count++;
        this.persister.markPending(r);
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
    this.sticky.set(this.shared.bits);
    this.activity.dropCandidates();
  }

  /** Every region dirty and sticky (initial sync, or the partner's bitmap cannot be trusted); durable on resolve. */
  async markAll(): Promise<void> {
    this.checkOpen();
    setRegionRange(this.shared.bits, 0, this.regionCountValue);
    this.sticky.set(this.shared.bits);
    this.count = this.regionCountValue;
    this.activity.dropCandidates();
    this.persister.markAllPending();
    await this.persister.schedulePersist();
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
    if (this.persister.hasPending) await this.persister.schedulePersist();
    await this.persister.commitCleans();
    return cleaned;
  }

  /**
   * Makes cleans wait for a data barrier before they reach the file: `barrier` must make every write acknowledged so
   * far durable on both replicas (flush the local store and the partner's). It may reject (partner unreachable):
   * the held cleans then stay held, which errs on the side of copying more.
   */
  setCleanBarrier(barrier: () => Promise<void>): void {
    this.persister.setBarrier(barrier);
  }

  /** Regions cleaned in memory whose clean is not in the file yet (waiting for a barrier). */
  get heldCount(): number {
    return this.persister.heldCount;
  }

  /**
   * Runs the barrier and persists the cleans made before it began. Never rejects for the barrier (held cleans wait
   * for the next call); rejects if persisting fails.
   */
  commitCleans(): Promise<void> {
    return this.persister.commitCleans();
  }

  /** Persists any changed bits not yet on disk (waits for a persist already under way), then held cleans if it can. */
  async flush(): Promise<void> {
    await this.persister.persistPending();
    await this.persister.commitCleans();
  }

  isDirty(region: number): boolean {
    return region >= 0 && region < this.regionCountValue && (this.shared.bits[region >>> 3] & (1 << (region & 7))) !== 0;
  }

  /** Whether only resync may clean this region. */
  isSticky(region: number): boolean {
    return region >= 0 && region < this.regionCountValue && (this.sticky[region >>> 3] & (1 << (region & 7))) !== 0;
  }

  /** Ascending dirty region indices (a snapshot). */
  dirtyRegions(): number[] {
    const out: number[] = [];
    const bits = this.shared.bits;
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
    await this.persister.grow(
      geometry,
      () => this.deviceBytesValue,
      () => {
        const newPages = geometry.pageCount;
        this.shared.bits = extend(this.shared.bits, newPages * PAGE_BODY_BYTES);
        this.shared.disk = extend(this.shared.disk, newPages * PAGE_BODY_BYTES);
        this.sticky = extend(this.sticky, newPages * PAGE_BODY_BYTES);
        this.regionCountValue = geometry.regionCount;
        this.deviceBytesValue = deviceBytes;
      },
    );
  }

  /** Persists what is pending and closes the file. */
  close(): Promise<void> {
    return this.persister.close();
  }

  /** Every region of a page dirty and sticky (a torn page found on open). */
  private markPageDirty(page: number): void {
    const first = page * DIRTY_BITMAP_REGIONS_PER_PAGE;
    const end = Math.min(first + DIRTY_BITMAP_REGIONS_PER_PAGE, this.regionCountValue);
    setRegionRange(this.shared.bits, first, end);
    setRegionRange(this.sticky, first, end);
    this.count = countBits(this.shared.bits);
    this.persister.markPendingPage(page);
  }

  private clearRegion(region: number): boolean {
    const byte = region >>> 3;
    const bit = 1 << (region & 7);
    this.sticky[byte] &= ~bit;
    const bits = this.shared.bits;
    if ((bits[byte] & bit) === 0) return false;
    bits[byte] &= ~bit;
    this.count--;
    this.persister.recordClean(region);
    return true;
  }

  private checkOpen(): void {
    if (this.persister.closed) throw new Error(`dirty bitmap ${this.file} is closed`);
  }

  private checkRange(position: number, length: number): void {
    if (this.persister.closed) throw new Error(`dirty bitmap ${this.file} is closed`);
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
