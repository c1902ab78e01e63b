/**
 * The per-device RAM cache: a `BlockStore` in front of another (FLAT, LSFS), in 4 KiB lines with LRU replacement.
 *
 * - `WRITE_BACK`: a write completes once its lines are in RAM. Dirty lines go to the store in the background after
 *   `flushDelayMs` (adjacent lines coalesced into one store write), on `flush()` (SYNCHRONIZE CACHE: what was dirty
 *   when it was called, then the store's own flush), on FUA (that write's lines, with FUA), on `close()`, and on
 *   `flushDirty()` (a HA replica calls it when a partner stops being synchronized). Dirty data is bounded
 *   (`dirtyLimitBytes`, at most half the cache): writers wait while it is reached. A failed store write keeps its
 *   lines dirty, is retried after `retryDelayMs`, is reported (`onWarning`, `lastFlushError`) and fails the next
 *   `flush()`, FUA write and `close()`: data is never dropped silently.
 * - `WRITE_THROUGH`: a write completes once the store has it durably (written with FUA).
 * - `NONE`: writes go to the store as they come (FUA as the caller asked); only the read cache works.
 * - Reads come from RAM when every line is there, else from the store with the cached lines (newer) laid over, and
 *   fill the cache — unless a write touched the range meanwhile: a fill never installs data older than a write.
 * - One store write per line at a time: a line is written again only after its previous store write completed, so
 *   an older copy can never overtake a newer one.
 *
 * Lines are 4 KiB: a write of 512-byte sectors that does not cover a whole line reads the line in first.
 */
import { BlockStore, ByteRange, StoreError } from '../blockStore';

export const CACHE_LINE = 4096;
export const CACHE_MODES = ['WRITE_BACK', 'WRITE_THROUGH', 'NONE'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];
export const RECOMMENDED_MIN_CACHE_BYTES = 128 * 1024 * 1024;
const MIN_CACHE_BYTES = 16 * CACHE_LINE;
const FLUSH_CHUNK_LINES = 256; // 1 MiB per store write
/** Store writes the flusher keeps in flight: as deep as the initiators' own queues, or the flush lags the writers. */
const FLUSH_PARALLEL = 32;

export interface CacheOptions {
  mode: CacheMode;
  /** RAM for cached lines, a multiple of 4 KiB; below 128 MiB works but is reported through `onWarning`. */
  sizeBytes: number;
  /** Write-back: most dirty data held at once; default and maximum half the cache. */
  dirtyLimitBytes?: number;
  /** Write-back: how long dirty data waits before the background flush takes it, ms (default 50). */
  flushDelayMs?: number;
  /** After a failed store write, ms before the background flush tries again (default 1000). */
  retryDelayMs?: number;
  onWarning?: (message: string) => void;
}

interface Line {
  buf: Buffer;
  dirty: boolean;
  /** Bumped on every change: a store write marks the line clean only if it wrote the latest version. */
  version: number;
  /** The store write of this line under way, if any. */
  writing: Promise<void> | null;
  /**
   * Set while the line is being read in from the store (a partial write needs its other sectors): nobody reads,
   * writes or evicts it until the read completes, so no other copy of the line can appear meanwhile.
   */
  filling: Promise<void> | null;
}

export interface CacheStats {
  mode: CacheMode;
  sizeBytes: number;
  cachedBytes: number;
  dirtyBytes: number;
  readHits: number;
  readMisses: number;
  flushedBytes: number;
  /** Measured from the flushes done so far (bytes written ÷ time the store took); null before any. */
  flushRateBytesPerSec: number | null;
  /** dirtyBytes ÷ the measured rate: how long emptying the cache would take now; null while nothing was measured. */
  estimatedFlushSeconds: number | null;
  lastFlushError: string | null;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class CachedStore implements BlockStore {
  readonly kind: BlockStore['kind'];
  readonly location: string;
  readonly blockSize: number;
  readonly thin: boolean;
  readonly discard?: (position: number, length: number) => Promise<void>;
  readonly mappedRanges?: (position: number, length: number, maxRanges: number) => Promise<ByteRange[]>;

  private currentMode: CacheMode;
  private readonly lines = new Map<number, Line>();
  private readonly capacity: number;
  private readonly dirtyLimit: number;
  private dirtyLines = 0;
  /** Bumped by every write and unmap: a read that began before one does not fill the cache. */
  private writeEpoch = 0;
  private readonly waiters: Waiter[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushDue = 0;
  /** The background pass under way: one at a time (it reschedules itself while dirty data remains). */
  private backgroundPass: Promise<void> | null = null;
  private flushError: Error | null = null;
  private closed = false;
  private readonly counters = { hits: 0, misses: 0, flushedBytes: 0, flushSeconds: 0 };
  /** Flush writes in flight, and since when some have been: the rate counts wall time, not the sum of overlapping writes. */
  private flushWrites = 0;
  private flushBusySince = 0n;
  /** Lines being read in (see Line.filling). */
  private fills = 0;
  private readonly warn: (message: string) => void;

  constructor(
    private readonly inner: BlockStore,
    private readonly options: CacheOptions,
  ) {
    if (!CACHE_MODES.includes(options.mode)) throw new StoreError(`cache mode ${JSON.stringify(options.mode)}: expected one of ${CACHE_MODES.join(', ')}`, 'BAD_SIZE');
    if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes < MIN_CACHE_BYTES) {
      throw new StoreError(`cache size ${options.sizeBytes} is below the minimum of ${MIN_CACHE_BYTES} bytes`, 'BAD_SIZE');
    }
    if (options.sizeBytes % CACHE_LINE !== 0) throw new StoreError(`cache size ${options.sizeBytes} is not a multiple of the ${CACHE_LINE}-byte cache line`, 'BAD_SIZE');
    const limit = options.dirtyLimitBytes ?? options.sizeBytes / 2;
    if (!Number.isSafeInteger(limit) || limit < CACHE_LINE || limit > options.sizeBytes / 2) {
      throw new StoreError(`dirty limit ${limit}: between ${CACHE_LINE} bytes and half the cache (${options.sizeBytes / 2})`, 'BAD_SIZE');
    }
    this.warn = options.onWarning ?? (() => undefined);
    if (options.sizeBytes < RECOMMENDED_MIN_CACHE_BYTES) {
      this.warn(`cache of ${(options.sizeBytes / 1048576).toFixed(0)} MiB for ${inner.location} is below 128 MiB, the usual minimum: expect low hit rates`);
    }
    this.currentMode = options.mode;
    this.kind = inner.kind;
    this.location = inner.location;
    this.blockSize = inner.blockSize;
    this.thin = inner.thin;
    this.capacity = options.sizeBytes / CACHE_LINE;
    this.dirtyLimit = Math.floor(limit / CACHE_LINE);
    if (inner.discard) {
      const discard = inner.discard.bind(inner);
      this.discard = (position, length) => this.discardRange(discard, position, length);
    }
    if (inner.mappedRanges) {
      const mapped = inner.mappedRanges.bind(inner);
      this.mappedRanges = async (position, length, maxRanges) => {
        this.assertOpen();
        // Dirty lines are data the store does not have yet: write them first so that its map is complete.
        await this.writeLines(this.dirtyIn(position, length), false);
        return mapped(position, length, maxRanges);
      };
    }
  }

  get sizeBytes(): number {
    return this.inner.sizeBytes;
  }

  get mode(): CacheMode {
    return this.currentMode;
  }

  get dirtyBytes(): number {
    return this.dirtyLines * CACHE_LINE;
  }

  /** MODE SELECT of the caching page (WCE) or an administrator: leaving write-back starts writing dirty data out. */
  setMode(mode: CacheMode): void {
    if (!CACHE_MODES.includes(mode)) throw new StoreError(`cache mode ${JSON.stringify(mode)}: expected one of ${CACHE_MODES.join(', ')}`, 'BAD_SIZE');
    this.currentMode = mode;
    if (mode !== 'WRITE_BACK') void this.flushDirty().catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError(`${this.location} is closed`, 'CLOSED');
  }

  // ---------------------------------------------------------------- lines

  private touch(index: number, line: Line): void {
    this.lines.delete(index);
    this.lines.set(index, line);
  }

  /**
   * Drops the least recently used clean, idle line if the cache is full, never one in [keepFirst, keepLast] (the
   * lines a write is filling in); false when every line is dirty or busy.
   */
  private makeRoom(keepFirst = -1, keepLast = -1): boolean {
    if (this.lines.size < this.capacity) return true;
    for (const [index, line] of this.lines) {
      if (!line.dirty && !line.writing && !line.filling && (index < keepFirst || index > keepLast)) {
        this.lines.delete(index);
        return true;
      }
    }
    return false;
  }

  private setDirty(line: Line, dirty: boolean): void {
    if (line.dirty === dirty) return;
    line.dirty = dirty;
    this.dirtyLines += dirty ? 1 : -1;
    if (!dirty) this.wakeWriters();
  }

  private wakeWriters(): void {
    while (this.dirtyLines < this.dirtyLimit && this.waiters.length > 0) this.waiters.shift()!.resolve();
  }

  /**
   * Visits the cached lines of [first, last]: by index or over the map, whichever is shorter (so a whole-device
   * range costs the cache's size, a small one its own), in no particular order; stops when `visit` returns true.
   * `visit` may delete the line it is given.
   */
  private eachLineIn(first: number, last: number, visit: (i: number, line: Line) => boolean | void): void {
    if (last - first < this.lines.size) {
      for (let i = first; i <= last; i++) {
        const line = this.lines.get(i);
        if (line && visit(i, line)) return;
      }
    } else for (const [i, line] of this.lines) if (i >= first && i <= last && visit(i, line)) return;
  }

  /** Dirty lines of the byte range, in ascending order. */
  private dirtyIn(position: number, length: number): number[] {
    const out: number[] = [];
    this.eachLineIn(Math.floor(position / CACHE_LINE), Math.floor((position + length - 1) / CACHE_LINE), (i, line) => void (line.dirty && out.push(i)));
    return out.sort((a, b) => a - b);
  }

  // ---------------------------------------------------------------- reads

  async read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    this.assertOpen();
    const first = Math.floor(position / CACHE_LINE);
    const last = Math.floor((position + length - 1) / CACHE_LINE);
    for (let filling = this.fillingIn(first, last); filling; filling = this.fillingIn(first, last)) {
      await filling;
      this.assertOpen();
    }
    let all = true;
    for (let i = first; i <= last && all; i++) all = this.lines.has(i);
    if (all) {
      this.counters.hits++;
      let at = bufOffset;
      for (let i = first; i <= last; i++) {
        const line = this.lines.get(i)!;
        this.touch(i, line);
        const from = i === first ? position - i * CACHE_LINE : 0;
        const to = i === last ? position + length - i * CACHE_LINE : CACHE_LINE;
        line.buf.copy(buf, at, from, to);
        at += to - from;
      }
      return;
    }
    this.counters.misses++;
    const epoch = this.writeEpoch;
    const spanStart = first * CACHE_LINE;
    const spanEnd = Math.min(this.inner.sizeBytes, (last + 1) * CACHE_LINE);
    const span = Buffer.alloc((last - first + 1) * CACHE_LINE);
    // Lines cached now may be newer than the store. If one is flushed and evicted while the store read is under
    // way, the span may hold its older content: such lines are read again below.
    const wasCached = new Uint8Array(last - first + 1);
    for (let i = first; i <= last; i++) if (this.lines.has(i)) wasCached[i - first] = 1;
    await this.inner.read(span, 0, spanEnd - spanStart, spanStart);
    this.assertOpen();
    // First every cached line over the span (newer than the store), before any eviction for the fills below.
    let again: number[] | null = null;
    for (let i = first; i <= last; i++) {
      const line = this.lines.get(i);
      if (line && !line.filling) line.buf.copy(span, (i - first) * CACHE_LINE);
      else if (wasCached[i - first]) (again ??= []).push(i);
    }
    for (const i of again ?? []) {
      const at = (i - first) * CACHE_LINE;
      await this.inner.read(span, at, Math.min(spanEnd, (i + 1) * CACHE_LINE) - i * CACHE_LINE, i * CACHE_LINE);
      this.assertOpen();
      const line = this.lines.get(i);
      if (line && !line.filling) line.buf.copy(span, at);
    }
    // Then cache what came from the store, if nothing was written meanwhile and the line was not cached before.
    if (epoch === this.writeEpoch) {
      for (let i = first; i <= last; i++) {
        if (wasCached[i - first] || this.lines.has(i) || (i + 1) * CACHE_LINE > this.inner.sizeBytes || !this.makeRoom()) continue;
        const at = (i - first) * CACHE_LINE;
        this.lines.set(i, { buf: Buffer.from(span.subarray(at, at + CACHE_LINE)), dirty: false, version: 0, writing: null, filling: null });
      }
    }
    span.copy(buf, bufOffset, position - spanStart, position - spanStart + length);
  }

  /** A read-in under way in lines [first, last], if any. */
  private fillingIn(first: number, last: number): Promise<void> | null {
    if (this.fills === 0) return null;
    let found: Promise<void> | null = null;
    this.eachLineIn(first, last, (_, line) => (found = line.filling) !== null);
    return found;
  }

  /** Reads line i in from the store under a placeholder (see Line.filling), evicting none in [keepFirst, keepLast]. */
  private async fillLine(i: number, keepFirst: number, keepLast: number): Promise<void> {
    const lineStart = i * CACHE_LINE;
    let filled!: () => void;
    const line: Line = { buf: Buffer.alloc(CACHE_LINE), dirty: false, version: 0, writing: null, filling: new Promise<void>((resolve) => (filled = resolve)) };
    this.makeRoom(keepFirst, keepLast);
    this.lines.set(i, line);
    this.fills++;
    try {
      await this.inner.read(line.buf, 0, Math.min(this.inner.sizeBytes, lineStart + CACHE_LINE) - lineStart, lineStart);
    } catch (err) {
      if (this.lines.get(i) === line) this.lines.delete(i);
      throw err;
    } finally {
      this.fills--;
      line.filling = null;
      filled();
    }
  }

  // ---------------------------------------------------------------- writes

  async write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    this.assertOpen();
    this.writeEpoch++;
    if (this.currentMode !== 'WRITE_BACK') return this.writeAround(buf, bufOffset, length, position, this.currentMode === 'WRITE_THROUGH' || fua);
    // Larger than the dirty limit: in pieces, each waiting for room.
    const chunk = this.dirtyLimit * CACHE_LINE;
    for (let done = 0; done < length; ) {
      const start = position + done;
      const end = Math.min(position + length, done === 0 ? Math.floor(start / CACHE_LINE) * CACHE_LINE + chunk : start + chunk);
      await this.writeBack(buf, bufOffset + done, end - start, start);
      done += end - start;
    }
    if (fua) await this.writeLines(this.dirtyIn(position, length), true, true);
    else this.scheduleFlush(this.options.flushDelayMs ?? 50);
  }

  /** Write-through and NONE: older dirty copies first (they must not overtake this write), then the store. */
  private async writeAround(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    await this.writeLines(this.dirtyIn(position, length), false);
    await this.idle(position, length);
    try {
      await this.inner.write(buf, bufOffset, length, position, fua);
    } finally {
      this.writeEpoch++;
      this.dropRange(position, length);
    }
  }

  private async writeBack(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    const first = Math.floor(position / CACHE_LINE);
    const last = Math.floor((position + length - 1) / CACHE_LINE);
    const count = last - first + 1;
    while (this.dirtyLines + count > this.dirtyLimit) {
      if (this.flushError && this.dirtyLines > 0) {
        // The flusher is failing: do not wait forever.
        await this.writeLines(this.dirtyIn(0, this.inner.sizeBytes), false).catch((err: Error) => {
          throw new StoreError(`the write cache of ${this.location} is full and flushing it fails: ${err.message}`, 'IO');
        });
        continue;
      }
      this.scheduleFlush(0);
      await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      this.assertOpen();
    }
    // Partial lines not cached yet are read in first: their other sectors must not be lost. The copy below runs
    // only after a pass that found every partial line cached and no line of the range being read in, without
    // waiting: a wait may let a clean line be evicted, so every wait starts the checks again.
    for (;;) {
      let waited = false;
      for (const i of first === last ? [first] : [first, last]) {
        const lineStart = i * CACHE_LINE;
        if (position <= lineStart && position + length >= lineStart + CACHE_LINE) continue;
        const line = this.lines.get(i);
        if (line && !line.filling) continue;
        if (line) await line.filling;
        else await this.fillLine(i, first, last);
        waited = true;
        break;
      }
      if (!waited) {
        const filling = this.fillingIn(first, last);
        if (!filling) break;
        await filling;
      }
      this.assertOpen();
    }
    this.writeEpoch++;
    let at = bufOffset;
    for (let i = first; i <= last; i++) {
      let line = this.lines.get(i);
      if (!line) {
        // Only a line the write covers wholly can be missing here; the partial ones read in above must stay.
        this.makeRoom(first, last);
        line = { buf: Buffer.allocUnsafe(CACHE_LINE), dirty: false, version: 0, writing: null, filling: null }; // wholly overwritten below
        this.lines.set(i, line);
      } else this.touch(i, line);
      const from = i === first ? position - i * CACHE_LINE : 0;
      const to = i === last ? position + length - i * CACHE_LINE : CACHE_LINE;
      buf.copy(line.buf, from, at, at + (to - from));
      at += to - from;
      line.version++;
      this.setDirty(line, true);
    }
  }

  private anyWriting(start: number, count: number): boolean {
    for (let i = start; i < start + count; i++) if (this.lines.get(i)?.writing) return true;
    return false;
  }

  /** Waits until no store write of a line in the range is under way. */
  private async idle(position: number, length: number): Promise<void> {
    const first = Math.floor(position / CACHE_LINE);
    const last = Math.floor((position + length - 1) / CACHE_LINE);
    for (;;) {
      const busy: Promise<void>[] = [];
      this.eachLineIn(first, last, (_, line) => void (line.writing && busy.push(line.writing)));
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
  }

  // ---------------------------------------------------------------- flushing

  /** Runs the background flush in `delayMs` (or sooner, if one is due sooner already); one pass at a time. */
  private scheduleFlush(delayMs: number): void {
    if (this.closed || this.dirtyLines === 0 || this.currentMode !== 'WRITE_BACK' || this.backgroundPass) return;
    const due = Date.now() + delayMs;
    if (this.flushTimer) {
      if (this.flushDue <= due) return;
      clearTimeout(this.flushTimer);
    }
    this.flushDue = due;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.closed) return;
      let failed = false;
      this.backgroundPass = this.flushDirty()
        .catch(() => {
          failed = true;
          // Writers waiting for room would wait for a flush that fails: tell them.
          if (this.dirtyLines >= this.dirtyLimit) for (const w of this.waiters.splice(0)) w.reject(new StoreError(`the write cache of ${this.location} is full and flushing it fails: ${this.flushError?.message}`, 'IO'));
        })
        .finally(() => {
          this.backgroundPass = null;
          // Writers waiting for room: go on at once; otherwise after the usual delay (or the retry delay after a failure).
          this.scheduleFlush(failed ? (this.options.retryDelayMs ?? 1000) : this.waiters.length > 0 ? 0 : (this.options.flushDelayMs ?? 50));
        });
    }, delayMs);
    // The timer alone does not keep a process alive: shutting down goes through close(), which flushes.
    this.flushTimer.unref();
  }

  /** Writes every line dirty now to the store (not the store's own flush). */
  flushDirty(): Promise<void> {
    this.assertOpen();
    return this.writeLines(this.dirtyIn(0, this.inner.sizeBytes), false);
  }

  /**
   * Writes the given lines, those still dirty once their previous store write completed, adjacent ones together,
   * a few store writes at once. With `fua`, durable before it resolves (if nothing was left to write with FUA, the
   * store is flushed instead: a concurrent plain write may have taken the lines).
   */
  private async writeLines(indexes: readonly number[], fua: boolean, syncIfNothing = false): Promise<void> {
    const runs = toRuns(indexes);
    let next = 0;
    let wroteWithFua = false;
    let failure: Error | null = null;
    await Promise.all(
      Array.from({ length: Math.min(FLUSH_PARALLEL, runs.length) }, async () => {
        while (next < runs.length) {
          const [start, count] = runs[next++];
          // Claim the lines atomically: wait until none is being written, then start every store write of the
          // still-dirty ones in this same turn (writeRun marks its lines before it first yields).
          while (this.anyWriting(start, count)) await this.idle(start * CACHE_LINE, count * CACHE_LINE);
          const started = toRuns(Array.from({ length: count }, (_, k) => start + k).filter((i) => this.lines.get(i)?.dirty)).map((run) => this.writeRun(run, fua));
          for (const result of await Promise.allSettled(started)) {
            if (result.status === 'fulfilled') wroteWithFua ||= fua;
            else failure ??= result.reason as Error;
          }
        }
      }),
    );
    if (failure) {
      const message = (failure as Error).message;
      throw new StoreError(`writing cached data of ${this.location} to its store failed (the data stays in the cache): ${message}`, 'IO');
    }
    if (fua && syncIfNothing && !wroteWithFua) await this.inner.flush();
  }

  private async writeRun([start, count]: [number, number], fua: boolean): Promise<void> {
    const snapshot = Buffer.allocUnsafe(count * CACHE_LINE);
    const taken: { line: Line; version: number }[] = [];
    for (let k = 0; k < count; k++) {
      const line = this.lines.get(start + k)!;
      line.buf.copy(snapshot, k * CACHE_LINE);
      taken.push({ line, version: line.version });
    }
    if (this.flushWrites++ === 0) this.flushBusySince = process.hrtime.bigint();
    const io = this.inner.write(snapshot, 0, snapshot.length, start * CACHE_LINE, fua);
    const settled = io.then(
      () => undefined,
      () => undefined,
    );
    for (const t of taken) t.line.writing = settled;
    try {
      await io;
    } catch (err) {
      if (this.flushError?.message !== (err as Error).message) this.warn(`writing cached data of ${this.location} failed, kept dirty and retried: ${(err as Error).message}`);
      this.flushError = err as Error;
      throw err;
    } finally {
      for (const t of taken) if (t.line.writing === settled) t.line.writing = null;
      if (--this.flushWrites === 0) this.counters.flushSeconds += Number(process.hrtime.bigint() - this.flushBusySince) / 1e9;
    }
    this.flushError = null;
    this.counters.flushedBytes += snapshot.length;
    for (const t of taken) if (t.line.version === t.version && this.lines.get(start + taken.indexOf(t)) === t.line) this.setDirty(t.line, false);
  }

  /** SYNCHRONIZE CACHE: what is dirty now goes to the store, then the store's own flush. */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.writeLines(this.dirtyIn(0, this.inner.sizeBytes), false);
    try {
      await this.inner.flush();
    } catch (err) {
      throw err instanceof StoreError ? err : new StoreError(`flushing ${this.location} failed: ${(err as Error).message}`, 'IO');
    }
  }

  // ---------------------------------------------------------------- the rest of BlockStore

  private dropRange(position: number, length: number): void {
    this.eachLineIn(Math.floor(position / CACHE_LINE), Math.floor((position + length - 1) / CACHE_LINE), (i, line) => {
      this.setDirty(line, false);
      this.lines.delete(i);
    });
  }

  private async discardRange(discard: (position: number, length: number) => Promise<void>, position: number, length: number): Promise<void> {
    this.assertOpen();
    this.writeEpoch++;
    // Lines only partly inside keep their other sectors: written out first.
    const head = Math.floor(position / CACHE_LINE);
    const tail = Math.floor((position + length - 1) / CACHE_LINE);
    const edges = [...new Set([head, tail])].filter((i) => {
      const inside = position <= i * CACHE_LINE && position + length >= (i + 1) * CACHE_LINE;
      return !inside && this.lines.get(i)?.dirty;
    });
    await this.writeLines(edges, false);
    // Store writes of lines in the range may still be on their way: they land before the unmap, not after it.
    const inFlight: Promise<void>[] = [];
    this.eachLineIn(head, tail, (_, line) => void (line.writing && inFlight.push(line.writing)));
    this.dropRange(position, length);
    await Promise.allSettled(inFlight);
    this.writeEpoch++;
    await discard(position, length);
  }

  async grow(newSizeBytes: number): Promise<void> {
    this.assertOpen();
    await this.inner.grow(newSizeBytes);
  }

  /** Writes everything out and closes the store; if that fails, the data stays here and the store stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.flush();
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new StoreError(`${this.location} is closed`, 'CLOSED'));
    await this.inner.close();
  }

  stats(): CacheStats {
    const busy = this.counters.flushSeconds + (this.flushWrites > 0 ? Number(process.hrtime.bigint() - this.flushBusySince) / 1e9 : 0);
    const rate = busy > 0 && this.counters.flushedBytes > 0 ? this.counters.flushedBytes / busy : null;
    return {
      mode: this.currentMode,
      sizeBytes: this.capacity * CACHE_LINE,
      cachedBytes: this.lines.size * CACHE_LINE,
      dirtyBytes: this.dirtyBytes,
      readHits: this.counters.hits,
      readMisses: this.counters.misses,
      flushedBytes: this.counters.flushedBytes,
      flushRateBytesPerSec: rate,
      estimatedFlushSeconds: this.dirtyLines === 0 ? 0 : rate === null ? null : this.dirtyBytes / rate,
      lastFlushError: this.flushError ? this.flushError.message : null,
    };
  }
}

/** Ascending line numbers → [start, count] runs of adjacent lines, at most FLUSH_CHUNK_LINES long. */
function toRuns(sorted: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const i of sorted) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === i && last[1] < FLUSH_CHUNK_LINES) last[1]++;
    else runs.push([i, 1]);
  }
  return runs;
}
