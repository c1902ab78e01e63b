/**
 * The LSFS index: logical 4 KiB block → where its newest copy lives in the log, kept on disk (`map.bin`, 8 bytes
 * per block, sparse: an unwritten device costs nothing) and paged through a bounded LRU cache of 4 KiB pages.
 *
 * A location is a number: segment id × 2^32 + byte offset of the block's data in that segment; 0 = unmapped.
 *
 * Pages change only in memory between checkpoints; a checkpoint (see `checkpoint`) first writes every dirty page and
 * the new checkpoint record into `map.journal` (checksummed, fsync'd), then into `map.bin`, then replaces
 * `checkpoint.json`, then removes the journal. An interrupted checkpoint is redone from a complete journal at open,
 * or forgotten if the journal is torn (map.bin was not touched yet). So `map.bin` always equals the state at the
 * position `checkpoint.json` names, and replaying the log from there is exact.
 */
import * as fs from 'fs';
import * as path from 'path';
import { crc32c } from '../crc32c';
import { StoreError } from '../blockStore';

export const MAP_PAGE_BYTES = 4096;
export const ENTRIES_PER_PAGE = MAP_PAGE_BYTES / 8;
const TWO_32 = 2 ** 32;
const JOURNAL_MAGIC = 0x4c534a31; // 'LSJ1'

export const locationOf = (segment: number, offset: number): number => segment * TWO_32 + offset;
export const segmentOf = (location: number): number => Math.floor(location / TWO_32);
export const offsetOf = (location: number): number => location % TWO_32;

interface Page {
  buf: Buffer;
  dirty: boolean;
}

export const readFn = (fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
export const writeFn = (fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.write(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
export const fdatasyncFn = (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));

/** Writes a file beside the target, fsyncs it, renames it over the target and fsyncs the directory. */
export function replaceFileSync(file: string, content: Buffer | string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDirSync(path.dirname(file));
}

export function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class BlockMap {
  private readonly pages = new Map<number, Page>();
  private readonly loading = new Map<number, Promise<Page>>();
  private dirtyPages = 0;

  constructor(
    private readonly fd: number,
    private entries: number,
    /** Pages kept in RAM at most (clean ones are evicted first; dirty ones wait for a checkpoint). */
    readonly cachePages: number,
    private readonly readOnly = false,
  ) {}

  get blockCount(): number {
    return this.entries;
  }

  get dirtyCount(): number {
    return this.dirtyPages;
  }

  /** Bytes of page cache held now. */
  get ramBytes(): number {
    return this.pages.size * MAP_PAGE_BYTES;
  }

  /**
   * The cache is full and at least half of it is dirty (dirty pages cannot be evicted): time for a checkpoint. While
   * the whole index fits, pages stay dirty until the store checkpoints for its own reasons (log length, time, close).
   */
  get wantsCheckpoint(): boolean {
    return this.pages.size >= this.cachePages && this.dirtyPages >= Math.max(1, Math.floor(this.cachePages / 2));
  }

  grow(entries: number): void {
    this.entries = entries;
  }

  private page(index: number): Page | Promise<Page> {
    const cached = this.pages.get(index);
    if (cached) {
      // LRU: most recently used last.
      this.pages.delete(index);
      this.pages.set(index, cached);
      return cached;
    }
    let pending = this.loading.get(index);
    if (!pending) {
      pending = (async () => {
        const buf = Buffer.alloc(MAP_PAGE_BYTES);
        await readFn(this.fd, buf, 0, MAP_PAGE_BYTES, index * MAP_PAGE_BYTES);
        const page = { buf, dirty: false };
        this.pages.set(index, page);
        this.loading.delete(index);
        this.evict();
        return page;
      })();
      pending.catch(() => this.loading.delete(index));
      this.loading.set(index, pending);
    }
    return pending;
  }

  /**
   * The page object to use after waiting for a load: the cached one if there is one (a page evicted while its
   * loader waited may have been loaded again, and changed, since), else the loaded one, put back in the cache.
   */
  private settle(index: number, loaded: Page): Page {
    const current = this.pages.get(index);
    if (current) return current;
    this.pages.set(index, loaded);
    return loaded;
  }

  private evict(): void {
    if (this.pages.size <= this.cachePages) return;
    for (const [index, page] of this.pages) {
      if (this.pages.size <= this.cachePages) break;
      if (!page.dirty) this.pages.delete(index);
    }
  }

  private check(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.entries) throw new StoreError(`block ${block} is outside the map (${this.entries} blocks)`, 'IO');
  }

  /** The entry if its page is in the cache (no I/O, no await: the hot path), else undefined. */
  peek(block: number): number | undefined {
    const page = this.pages.get(Math.floor(block / ENTRIES_PER_PAGE));
    if (!page || block >= this.entries) return undefined;
    const at = (block % ENTRIES_PER_PAGE) * 8;
    return page.buf.readUInt32LE(at + 4) * TWO_32 + page.buf.readUInt32LE(at);
  }

  async get(block: number): Promise<number> {
    this.check(block);
    const index = Math.floor(block / ENTRIES_PER_PAGE);
    const p = this.page(index);
    const page = p instanceof Promise ? this.settle(index, await p) : p;
    const at = (block % ENTRIES_PER_PAGE) * 8;
    return page.buf.readUInt32LE(at + 4) * TWO_32 + page.buf.readUInt32LE(at);
  }

  /** `set` for an entry whose page is cached (see `peek`): synchronous. */
  setCached(block: number, location: number): number {
    const page = this.pages.get(Math.floor(block / ENTRIES_PER_PAGE))!;
    return this.setIn(page, block, location);
  }

  /** Sets the entry; returns the previous location (0 = unmapped). */
  async set(block: number, location: number): Promise<number> {
    if (this.readOnly) throw new StoreError('this index is read-only (a snapshot)', 'IO');
    this.check(block);
    const index = Math.floor(block / ENTRIES_PER_PAGE);
    const p = this.page(index);
    return this.setIn(p instanceof Promise ? this.settle(index, await p) : p, block, location);
  }

  private setIn(page: Page, block: number, location: number): number {
    if (this.readOnly) throw new StoreError('this index is read-only (a snapshot)', 'IO');
    const at = (block % ENTRIES_PER_PAGE) * 8;
    const old = page.buf.readUInt32LE(at + 4) * TWO_32 + page.buf.readUInt32LE(at);
    page.buf.writeUInt32LE(location % TWO_32, at);
    page.buf.writeUInt32LE(Math.floor(location / TWO_32), at + 4);
    if (!page.dirty) {
      page.dirty = true;
      this.dirtyPages++;
    }
    return old;
  }

  /**
   * Mapped entries of [first, first + count) in order, calling `visit(block, location)` for each; pages never
   * written are skipped without being read into the cache (sparse map.bin reads as zeros anyway).
   */
  async forEachMapped(first: number, count: number, visit: (block: number, location: number) => boolean | void): Promise<void> {
    const end = Math.min(this.entries, first + count);
    let block = first;
    while (block < end) {
      const index = Math.floor(block / ENTRIES_PER_PAGE);
      const p = this.page(index);
      const page = p instanceof Promise ? this.settle(index, await p) : p;
      const pageEnd = Math.min(end, (index + 1) * ENTRIES_PER_PAGE);
      for (; block < pageEnd; block++) {
        const at = (block % ENTRIES_PER_PAGE) * 8;
        const lo = page.buf.readUInt32LE(at);
        const hi = page.buf.readUInt32LE(at + 4);
        if (hi !== 0 && visit(block, hi * TWO_32 + lo) === false) return;
      }
    }
  }

  /**
   * Makes the map as it is now durable together with `record` (the checkpoint record naming the log position it
   * corresponds to), through the journal described above. The caller keeps writers out meanwhile.
   */
  checkpoint(dir: string, record: object): void {
    const dirty = [...this.pages].filter(([, p]) => p.dirty);
    const recordBytes = Buffer.from(JSON.stringify(record));
    const journal = Buffer.alloc(16 + dirty.length * (4 + MAP_PAGE_BYTES) + recordBytes.length);
    journal.writeUInt32LE(JOURNAL_MAGIC, 0);
    journal.writeUInt32LE(dirty.length, 8);
    journal.writeUInt32LE(recordBytes.length, 12);
    let at = 16;
    for (const [index, page] of dirty) {
      journal.writeUInt32LE(index, at);
      page.buf.copy(journal, at + 4);
      at += 4 + MAP_PAGE_BYTES;
    }
    recordBytes.copy(journal, at);
    journal.writeUInt32LE(crc32c(journal.subarray(8)), 4);
    replaceFileSync(path.join(dir, 'map.journal'), journal);
    applyJournal(dir, this.fd, journal);
    for (const [, page] of dirty) page.dirty = false;
    this.dirtyPages = 0;
    this.evict();
  }
}

/** Writes a verified journal's pages into map.bin, its record into checkpoint.json, and removes it. */
function applyJournal(dir: string, mapFd: number, journal: Buffer): void {
  const count = journal.readUInt32LE(8);
  const recordLength = journal.readUInt32LE(12);
  let at = 16;
  for (let i = 0; i < count; i++) {
    const index = journal.readUInt32LE(at);
    fs.writeSync(mapFd, journal, at + 4, MAP_PAGE_BYTES, index * MAP_PAGE_BYTES);
    at += 4 + MAP_PAGE_BYTES;
  }
  fs.fsyncSync(mapFd);
  replaceFileSync(path.join(dir, 'checkpoint.json'), journal.subarray(at, at + recordLength));
  fs.rmSync(path.join(dir, 'map.journal'), { force: true });
  syncDirSync(dir);
}

/** At open: finishes a checkpoint whose journal is complete, forgets one whose journal is torn. */
export function recoverJournal(dir: string, mapFd: number): 'none' | 'redone' | 'discarded' {
  const file = path.join(dir, 'map.journal');
  let journal: Buffer;
  try {
    journal = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw new StoreError(`cannot read ${file}: ${(err as Error).message}`, 'IO');
  }
  const complete =
    journal.length >= 16 &&
    journal.readUInt32LE(0) === JOURNAL_MAGIC &&
    journal.length === 16 + journal.readUInt32LE(8) * (4 + MAP_PAGE_BYTES) + journal.readUInt32LE(12) &&
    journal.readUInt32LE(4) === crc32c(journal.subarray(8));
  if (!complete) {
    fs.rmSync(file, { force: true });
    syncDirSync(dir);
    return 'discarded';
  }
  applyJournal(dir, mapFd, journal);
  return 'redone';
}
