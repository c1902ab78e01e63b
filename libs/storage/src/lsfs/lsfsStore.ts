/**
 * LSFS: a log-structured, thin block store. Every write is appended to the active segment file as a record
 * (32-byte header: magic, CRC32C of header and data, sequence number, first block, block count, kind; then the
 * 4 KiB blocks); the index (`BlockMap`, paged to disk, bounded in RAM) maps each logical 4 KiB block to its newest
 * copy. Random writes become sequential appends; unwritten and unmapped blocks cost nothing and read as zeros.
 *
 * Durability: a write completes once its record is written (a process crash loses nothing completed; power loss
 * may lose completed writes that were neither FUA nor followed by `flush()`, like a disk's write cache). `flush()`
 * and FUA wait for every record allocated before them, then fdatasync the segments: a durable record therefore has
 * only durable records before it, and recovery — replaying the log from the last checkpoint and stopping at the
 * first record whose header or checksum does not verify (a torn tail) — never drops an acknowledged durable write.
 *
 * Space: blocks overwritten or unmapped become garbage in their segment; garbage collection copies the live blocks
 * of segments whose live fraction fell below a threshold to the log head (in the background, with a bounded share of
 * the time) and deletes them after the next checkpoint. Snapshots are copies of the index (`map.bin`, reflinked when
 * the file system can): instant for the data, which stays shared; segments a snapshot may reference are not
 * collected while it exists. See docs/architecture.md (LSFS).
 */
import * as fs from 'fs';
import * as path from 'path';
import { crc32c } from '../crc32c';
import { BlockStore, ByteRange, StoreError, checkGeometry } from '../blockStore';
import { IoBatcher } from '../flat/ioBatcher';
import { nativeFs } from '../flat/nativeFs';
import {
  BlockMap,
  ENTRIES_PER_PAGE,
  MAP_PAGE_BYTES,
  fdatasyncFn,
  locationOf,
  offsetOf,
  readFn,
  recoverJournal,
  replaceFileSync,
  segmentOf,
  syncDirSync,
} from './blockMap';

export const LSFS_BLOCK = 4096;
const HEADER = 32;
const MAGIC = 0x4c534631; // 'LSF1'
const KIND_DATA = 0;
const KIND_UNMAP = 1;
const FORMAT = 'tandem-lsfs';
/** Log a recovery may have to replay at most (then a checkpoint is taken), bounding restart time. */
const MAX_REPLAY_BYTES = 512 * 1024 * 1024;

export interface LsfsOptions {
  /** The store's directory. */
  path: string;
  /** Required when creating; checked when opening if given. */
  sizeBytes?: number;
  blockSize?: number;
  create?: boolean;
  /** Segment file size (default 64 MiB). */
  segmentBytes?: number;
  /** RAM for index pages (default 16 MiB; at least 64 KiB). */
  indexCacheBytes?: number;
  /** Collect segments whose live share fell below this (default 0.5); 0 turns GC off. */
  gcThreshold?: number;
  /** Share of wall time GC may spend copying (default 0.25). */
  gcShare?: number;
  /** How often GC looks for work, ms (default 1000). */
  gcIntervalMs?: number;
}

interface Checkpoint {
  format: string;
  /** The next record's sequence number and where it goes: replay starts here. */
  seq: number;
  segment: number;
  offset: number;
  /** Live blocks per segment id. */
  live: Record<string, number>;
  /** Data blocks ever appended per segment id (live + garbage). */
  data: Record<string, number>;
  snapshots: SnapshotInfo[];
}

export interface SnapshotInfo {
  name: string;
  createdAt: string;
  /** Segments up to this id may hold its blocks: GC leaves them alone while it exists. */
  pinSegment: number;
}

export interface LsfsStats {
  logicalBytes: number;
  /** On disk: segment files, the index and snapshot indexes. */
  usedBytes: number;
  /** Blocks the device maps now. */
  liveBytes: number;
  /** Overwritten or unmapped blocks still in segments (some held by snapshots). */
  garbageBytes: number;
  /** Index, snapshot indexes and record headers. */
  metadataBytes: number;
  segments: number;
  /** RAM held by index pages now, and the most it may hold. */
  indexRamBytes: number;
  indexRamLimitBytes: number;
  gcRuns: number;
  gcCopiedBytes: number;
}

export interface LsfsCheckReport {
  ok: boolean;
  problems: string[];
  mappedBlocks: number;
  records: number;
  segments: number;
}

interface Segment {
  id: number;
  tail: number;
  live: number;
  data: number;
}

interface Appended {
  segment: number;
  dataOffset: number;
}

const segName = (id: number) => `seg-${String(id).padStart(8, '0')}.log`;
const SEG_FILE = /^seg-(\d{8})\.log$/;
const SNAP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const writevFn = (fd: number, buffers: Buffer[], position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.writev(fd, buffers, position, (err, n) => (err ? reject(err) : resolve(n))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads blocks through an index (the live one, or a snapshot's) from the shared segments. */
abstract class LsfsReader {
  abstract readonly blockSize: number;
  abstract get sizeBytes(): number;
  protected abstract get index(): BlockMap;
  protected abstract segmentFd(id: number): number;
  /** Batched native I/O on every segment file (each I/O names its file), when the addon is there. */
  protected abstract storeBatcher(): IoBatcher | null;
  protected abstract assertOpen(): void;

  /** Never throws: every failure (closed, a segment that cannot be opened) is a rejected promise. */
  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    try {
      this.assertOpen();
      // The common case, one 4 KiB-aligned block whose index page is cached: straight to the segment, no async frame.
      if (length === LSFS_BLOCK && position % LSFS_BLOCK === 0) {
        const location = this.index.peek(position / LSFS_BLOCK);
        if (location === 0) {
          buf.fill(0, bufOffset, bufOffset + length);
          return Promise.resolve();
        }
        if (location !== undefined) return this.readExact(segmentOf(location), buf, bufOffset, length, offsetOf(location));
      }
      return this.readRuns(buf, bufOffset, length, position);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async readRuns(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    const end = position + length;
    let block = Math.floor(position / LSFS_BLOCK);
    const last = Math.floor((end - 1) / LSFS_BLOCK);
    const reads: Promise<unknown>[] = [];
    const index = this.index;
    while (block <= last) {
      const location = index.peek(block) ?? (await index.get(block));
      // A run: following blocks stored right after this one in the same segment (or all unmapped).
      let run = 1;
      while (block + run <= last) {
        const next = index.peek(block + run) ?? (await index.get(block + run));
        if (location === 0 ? next !== 0 : next !== location + run * LSFS_BLOCK) break;
        run++;
      }
      const from = Math.max(position, block * LSFS_BLOCK);
      const to = Math.min(end, (block + run) * LSFS_BLOCK);
      const into = bufOffset + (from - position);
      if (location === 0) buf.fill(0, into, into + (to - from));
      else reads.push(this.readExact(segmentOf(location), buf, into, to - from, offsetOf(location) + (from - block * LSFS_BLOCK)));
      block += run;
    }
    await Promise.all(reads);
  }

  protected readExact(segment: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    const batcher = this.storeBatcher();
    if (batcher) return batcher.submit(false, offset === 0 && length === buf.length ? buf : buf.subarray(offset, offset + length), position, false, this.segmentFd(segment));
    return this.readExactSlow(segment, buf, offset, length, position);
  }

  private async readExactSlow(segment: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    const fd = this.segmentFd(segment);
    let done = 0;
    while (done < length) {
      const n = await readFn(fd, buf, offset + done, length - done, position + done);
      if (n === 0) throw new StoreError(`segment ${segName(segment)} ends before offset ${position + done}`, 'IO');
      done += n;
    }
  }

  async mappedRanges(position: number, length: number, maxRanges: number): Promise<ByteRange[]> {
    this.assertOpen();
    const ranges: ByteRange[] = [];
    const end = position + length;
    const first = Math.floor(position / LSFS_BLOCK);
    const count = Math.ceil(end / LSFS_BLOCK) - first;
    await this.index.forEachMapped(first, count, (block) => {
      const from = Math.max(position, block * LSFS_BLOCK);
      const to = Math.min(end, (block + 1) * LSFS_BLOCK);
      const prev = ranges[ranges.length - 1];
      if (prev && prev.position + prev.length === from) prev.length += to - from;
      else {
        if (ranges.length === maxRanges) return false;
        ranges.push({ position: from, length: to - from });
      }
      return true;
    });
    return ranges;
  }
}

export class LsfsStore extends LsfsReader implements BlockStore {
  readonly kind = 'lsfs' as const;
  readonly thin = true;
  private map: BlockMap;
  private mapFd: number;
  private readonly segments = new Map<number, Segment>();
  private readonly fds = new Map<number, number>();
  /** One batcher for every segment file: the I/O of one event-loop turn is one native job whatever the segments. */
  private batcher: IoBatcher | null | undefined;
  private active: Segment;
  private seq: number;
  private snapshots: SnapshotInfo[];
  private closed = false;
  private failed: Error | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly unsynced = new Set<number>();
  private readonly locks = new Map<number, Promise<void>>();
  private activeWrites = 0;
  private gate: Promise<void> | null = null;
  private gateOpen: (() => void) | null = null;
  private writesDrained: (() => void) | null = null;
  private queuedFlush: Promise<void> | null = null;
  private runningFlush: Promise<void> | null = null;
  private gcTimer: NodeJS.Timeout | null = null;
  private checkpointedAt = { segment: 0, offset: 0 };
  private gcRunning: Promise<void> | null = null;
  private readonly gcStats = { runs: 0, copiedBytes: 0 };

  private constructor(
    readonly location: string,
    readonly blockSize: number,
    private size: number,
    private readonly segmentBytes: number,
    private readonly indexCachePages: number,
    private readonly gc: { threshold: number; share: number; intervalMs: number },
    map: BlockMap,
    mapFd: number,
    checkpoint: Checkpoint,
  ) {
    super();
    this.map = map;
    this.mapFd = mapFd;
    this.seq = checkpoint.seq;
    this.snapshots = checkpoint.snapshots;
    this.active = { id: checkpoint.segment, tail: checkpoint.offset, live: 0, data: 0 };
  }

  get sizeBytes(): number {
    return this.size;
  }

  protected get index(): BlockMap {
    return this.map;
  }

  protected assertOpen(): void {
    if (this.closed) throw new StoreError(`${this.location} is closed`, 'CLOSED');
  }

  // ------------------------------------------------------------------ open, create, recover

  static async open(options: LsfsOptions): Promise<LsfsStore> {
    const dir = options.path;
    const superFile = path.join(dir, 'superblock.json');
    if (!fs.existsSync(superFile)) {
      if (!options.create) throw new StoreError(`LSFS store ${dir} does not exist (add "create" to make it)`, 'ENOENT');
      if (options.sizeBytes === undefined) throw new StoreError(`creating ${dir} needs a size`, 'BAD_SIZE');
      LsfsStore.create(dir, options.sizeBytes, options.blockSize ?? 512, options.segmentBytes ?? 64 * 1024 * 1024);
    }
    let sb: { format: string; version: number; sizeBytes: number; blockSize: number; segmentBytes: number };
    try {
      sb = JSON.parse(fs.readFileSync(superFile, 'utf8'));
    } catch (err) {
      throw new StoreError(`${superFile} is unreadable: ${(err as Error).message}`, 'IO');
    }
    if (sb.format !== FORMAT || sb.version !== 1) throw new StoreError(`${dir} is not a Tandem LSFS store (format ${sb.format} v${sb.version})`, 'IO');
    if (options.sizeBytes !== undefined && options.sizeBytes !== sb.sizeBytes) {
      throw new StoreError(`LSFS store ${dir} holds ${sb.sizeBytes} bytes but size ${options.sizeBytes} was given`, 'SIZE_MISMATCH');
    }
    if (options.blockSize !== undefined && options.blockSize !== sb.blockSize) {
      throw new StoreError(`LSFS store ${dir} has ${sb.blockSize}-byte sectors, not ${options.blockSize}`, 'SIZE_MISMATCH');
    }
    takeOwnerLock(dir);
    let mapFd: number;
    try {
      mapFd = fs.openSync(path.join(dir, 'map.bin'), 'r+');
    } catch (err) {
      releaseOwnerLock(dir);
      throw new StoreError(`cannot open the index of ${dir}: ${(err as Error).message}`, 'IO');
    }
    recoverJournal(dir, mapFd);
    const checkpoint = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as Checkpoint;
    const cachePages = Math.max(16, Math.floor((options.indexCacheBytes ?? 16 * 1024 * 1024) / MAP_PAGE_BYTES));
    const blocks = Math.ceil(sb.sizeBytes / LSFS_BLOCK);
    const store = new LsfsStore(
      dir,
      sb.blockSize,
      sb.sizeBytes,
      sb.segmentBytes,
      cachePages,
      { threshold: options.gcThreshold ?? 0.5, share: options.gcShare ?? 0.25, intervalMs: options.gcIntervalMs ?? 1000 },
      new BlockMap(mapFd, blocks, cachePages),
      mapFd,
      checkpoint,
    );
    try {
      await store.recover(checkpoint);
    } catch (err) {
      store.closeFds();
      releaseOwnerLock(dir);
      throw err;
    }
    store.startGc();
    return store;
  }

  private static create(dir: string, sizeBytes: number, blockSize: number, segmentBytes: number): void {
    checkGeometry(sizeBytes, blockSize);
    if (!Number.isInteger(segmentBytes) || segmentBytes < 64 * 1024) throw new StoreError(`segment size ${segmentBytes} is below 64 KiB`, 'BAD_SIZE');
    fs.mkdirSync(dir, { recursive: true });
    const leftovers = fs.readdirSync(dir);
    if (leftovers.length > 0) throw new StoreError(`cannot create an LSFS store in ${dir}: the directory is not empty (${leftovers.slice(0, 3).join(', ')})`, 'EEXIST');
    const mapFd = fs.openSync(path.join(dir, 'map.bin'), 'wx');
    const blocks = Math.ceil(sizeBytes / LSFS_BLOCK);
    fs.ftruncateSync(mapFd, Math.ceil(blocks / ENTRIES_PER_PAGE) * MAP_PAGE_BYTES);
    fs.fsyncSync(mapFd);
    fs.closeSync(mapFd);
    fs.closeSync(fs.openSync(path.join(dir, segName(1)), 'wx'));
    const checkpoint: Checkpoint = { format: FORMAT, seq: 1, segment: 1, offset: 0, live: {}, data: {}, snapshots: [] };
    replaceFileSync(path.join(dir, 'checkpoint.json'), JSON.stringify(checkpoint));
    // The superblock last: a store without one was never completely created (and may be created again after cleaning up).
    replaceFileSync(path.join(dir, 'superblock.json'), JSON.stringify({ format: FORMAT, version: 1, sizeBytes, blockSize, segmentBytes }, null, 2));
  }

  /** Replays the log from the checkpoint, truncating at the first record that does not verify. */
  private async recover(checkpoint: Checkpoint): Promise<void> {
    const ids = fs
      .readdirSync(this.location)
      .map((f) => SEG_FILE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const id of ids) {
      const tail = fs.statSync(path.join(this.location, segName(id))).size;
      this.segments.set(id, { id, tail, live: checkpoint.live[id] ?? 0, data: checkpoint.data[id] ?? 0 });
    }
    if (!this.segments.has(checkpoint.segment)) throw new StoreError(`${this.location}: segment ${segName(checkpoint.segment)} named by the checkpoint is missing`, 'IO');
    let seq = checkpoint.seq;
    let torn: { segment: number; offset: number } | null = null;
    const header = Buffer.alloc(HEADER);
    for (const id of ids.filter((i) => i >= checkpoint.segment)) {
      const seg = this.segments.get(id)!;
      let offset = id === checkpoint.segment ? checkpoint.offset : 0;
      while (offset < seg.tail) {
        const record = await this.readRecord(id, offset, seg.tail, header);
        if (!record || record.seq !== seq) {
          torn = { segment: id, offset };
          break;
        }
        for (let i = 0; i < record.count; i++) {
          await this.remap(record.first + i, record.kind === KIND_DATA ? locationOf(id, offset + HEADER + i * LSFS_BLOCK) : 0);
        }
        if (record.kind === KIND_DATA) seg.data += record.count;
        seq++;
        offset += HEADER + (record.kind === KIND_DATA ? record.count * LSFS_BLOCK : 0);
      }
      if (torn) break;
    }
    if (torn) {
      // Everything from the first bad record on was never acknowledged as durable: cut it off.
      fs.truncateSync(path.join(this.location, segName(torn.segment)), torn.offset);
      this.segments.get(torn.segment)!.tail = torn.offset;
      for (const id of ids.filter((i) => i > torn!.segment)) {
        fs.rmSync(path.join(this.location, segName(id)), { force: true });
        this.segments.delete(id);
      }
      syncDirSync(this.location);
    }
    this.seq = seq;
    const lastId = Math.max(...this.segments.keys());
    this.active = this.segments.get(lastId)!;
    this.checkpointNow();
  }

  private async readRecord(segment: number, offset: number, tail: number, header: Buffer): Promise<{ seq: number; first: number; count: number; kind: number } | null> {
    if (offset + HEADER > tail) return null;
    await this.readExact(segment, header, 0, HEADER, offset);
    if (header.readUInt32LE(0) !== MAGIC) return null;
    const seq = header.readUInt32LE(8) + header.readUInt32LE(12) * 2 ** 32;
    const first = header.readUInt32LE(16) + header.readUInt32LE(20) * 2 ** 32;
    const count = header.readUInt32LE(24);
    const kind = header.readUInt32LE(28);
    if ((kind !== KIND_DATA && kind !== KIND_UNMAP) || count === 0 || first + count > this.map.blockCount) return null;
    const dataBytes = kind === KIND_DATA ? count * LSFS_BLOCK : 0;
    if (offset + HEADER + dataBytes > tail) return null;
    let crc = crc32c(header.subarray(8));
    if (dataBytes > 0) {
      const data = Buffer.allocUnsafe(Math.min(dataBytes, 1024 * 1024));
      for (let done = 0; done < dataBytes; ) {
        const n = Math.min(data.length, dataBytes - done);
        await this.readExact(segment, data, 0, n, offset + HEADER + done);
        crc = crc32c(data.subarray(0, n), crc);
        done += n;
      }
    }
    return crc === header.readUInt32LE(4) ? { seq, first, count, kind } : null;
  }

  /** Points `block` at `location` and moves its live count. */
  private async remap(block: number, location: number): Promise<void> {
    const old = this.map.peek(block) !== undefined ? this.map.setCached(block, location) : await this.map.set(block, location);
    if (old !== 0) {
      const seg = this.segments.get(segmentOf(old));
      if (seg) seg.live--;
    }
    if (location !== 0) this.segments.get(segmentOf(location))!.live++;
  }

  protected storeBatcher(): IoBatcher | null {
    if (this.batcher === undefined) {
      const native = nativeFs();
      this.batcher = native ? new IoBatcher(null, native.ioBatch, this.location, native.ioTry) : null;
    }
    return this.batcher;
  }

  protected segmentFd(id: number): number {
    let fd = this.fds.get(id);
    if (fd === undefined) {
      try {
        fd = fs.openSync(path.join(this.location, segName(id)), 'r+');
      } catch (err) {
        throw new StoreError(`cannot open ${segName(id)} of ${this.location}: ${(err as Error).message}`, 'IO');
      }
      this.fds.set(id, fd);
    }
    return fd;
  }

  // ------------------------------------------------------------------ writes

  /** Counts a writer in; returns a promise only when it has to wait (a checkpoint holds writes), so the hot path stays in one tick. */
  private enter(): Promise<void> | undefined {
    if (!this.gate && !this.failed) {
      this.activeWrites++;
      return undefined;
    }
    return this.enterSlowly();
  }

  private async enterSlowly(): Promise<void> {
    while (this.gate) await this.gate;
    if (this.failed) throw new StoreError(`${this.location} stopped taking writes after an I/O error (${this.failed.message}); reopen it once the cause is fixed`, 'IO');
    this.activeWrites++;
  }

  private leave(): void {
    this.activeWrites--;
    if (this.activeWrites === 0 && this.writesDrained) this.writesDrained();
  }

  /**
   * Takes these blocks after their earlier writers (arrival order); returns the release, or a promise of it when an
   * earlier writer still holds one of them.
   */
  private lockBlocks(first: number, count: number): (() => void) | Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    let earlier: Promise<void>[] | null = null;
    for (let b = first; b < first + count; b++) {
      const prev = this.locks.get(b);
      if (prev) (earlier ??= []).push(prev);
      this.locks.set(b, mine);
    }
    const unlock = () => {
      for (let b = first; b < first + count; b++) if (this.locks.get(b) === mine) this.locks.delete(b);
      release();
    };
    return earlier ? Promise.all(earlier).then(() => unlock) : unlock;
  }

  /** Reserves the record's place at the log head and writes it; resolves once written. */
  private append(first: number, count: number, kind: number, data: Buffer | null): Promise<Appended> {
    const size = HEADER + (data ? data.length : 0);
    if (this.active.tail > 0 && this.active.tail + size > this.segmentBytes) this.roll();
    const seg = this.active;
    const offset = seg.tail;
    seg.tail += size;
    const seq = this.seq++;
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(seq % 2 ** 32, 8);
    header.writeUInt32LE(Math.floor(seq / 2 ** 32), 12);
    header.writeUInt32LE(first % 2 ** 32, 16);
    header.writeUInt32LE(Math.floor(first / 2 ** 32), 20);
    header.writeUInt32LE(count, 24);
    header.writeUInt32LE(kind, 28);
    const headCrc = crc32c(header.subarray(8));
    header.writeUInt32LE(data ? crc32c(data, headCrc) : headCrc, 4);
    this.unsynced.add(seg.id);
    const result = { segment: seg.id, dataOffset: offset + HEADER };
    const batcher = this.storeBatcher();
    // Batched: every append of this event-loop turn goes to the disk in one native job (they are adjacent in the log).
    // One buffer per record: one pwrite (copying 4 KiB costs less than a second system call).
    const io = batcher
      ? batcher.submit(true, data ? Buffer.concat([header, data], size) : header, offset, false, this.segmentFd(seg.id)).then(() => result)
      : writevFn(this.segmentFd(seg.id), data ? [header, data] : [header], offset).then((n) => {
          if (n !== size) throw new StoreError(`short write to ${segName(seg.id)} (${n} of ${size} bytes)`, 'IO');
          return result;
        });
    const tracked = io.catch((err: Error) => {
      // A hole in the log would hide every later record from recovery: stop taking writes.
      this.failed ??= err;
      throw err;
    });
    this.inflight.add(tracked);
    void tracked.catch(() => undefined).finally(() => this.inflight.delete(tracked));
    return tracked;
  }

  private roll(): void {
    const id = Math.max(...this.segments.keys()) + 1;
    fs.closeSync(fs.openSync(path.join(this.location, segName(id)), 'wx'));
    syncDirSync(this.location);
    const seg = { id, tail: 0, live: 0, data: 0 };
    this.segments.set(id, seg);
    this.active = seg;
  }

  async write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    this.assertOpen();
    const entering = this.enter();
    if (entering) await entering;
    try {
      const first = Math.floor(position / LSFS_BLOCK);
      const count = Math.ceil((position + length) / LSFS_BLOCK) - first;
      const locking = this.lockBlocks(first, count);
      const release = typeof locking === 'function' ? locking : await locking;
      try {
        let data: Buffer;
        if (position % LSFS_BLOCK === 0 && length % LSFS_BLOCK === 0) {
          data = buf.subarray(bufOffset, bufOffset + length);
        } else {
          // Sectors smaller than the index's 4 KiB block: read-modify-write of the partial blocks (under the lock).
          data = Buffer.alloc(count * LSFS_BLOCK);
          const head = position % LSFS_BLOCK;
          if (head !== 0) await this.read(data, 0, LSFS_BLOCK, first * LSFS_BLOCK);
          const tailEnd = (position + length) % LSFS_BLOCK;
          if (tailEnd !== 0 && (count > 1 || head === 0)) await this.read(data, (count - 1) * LSFS_BLOCK, LSFS_BLOCK, (first + count - 1) * LSFS_BLOCK);
          buf.copy(data, head, bufOffset, bufOffset + length);
        }
        const at = await this.append(first, count, KIND_DATA, data);
        this.segments.get(at.segment)!.data += count;
        for (let i = 0; i < count; i++) await this.remap(first + i, locationOf(at.segment, at.dataOffset + i * LSFS_BLOCK));
      } finally {
        release();
      }
    } finally {
      this.leave();
    }
    if (fua) await this.flush();
    this.maybeCheckpoint();
  }

  /** UNMAP: whole 4 KiB blocks in the range stop costing space; partial ones at the edges are zeroed. */
  async discard(position: number, length: number): Promise<void> {
    this.assertOpen();
    const end = position + length;
    const firstWhole = Math.ceil(position / LSFS_BLOCK);
    const endWhole = Math.floor(end / LSFS_BLOCK);
    if (firstWhole >= endWhole) return this.zero(position, length);
    if (position < firstWhole * LSFS_BLOCK) await this.zero(position, firstWhole * LSFS_BLOCK - position);
    if (end > endWhole * LSFS_BLOCK) await this.zero(endWhole * LSFS_BLOCK, end - endWhole * LSFS_BLOCK);
    await this.enter();
    try {
      const count = endWhole - firstWhole;
      const release = await this.lockBlocks(firstWhole, count);
      try {
        // One record per run of mapped blocks (unwritten ones need nothing).
        const runs: [number, number][] = [];
        await this.map.forEachMapped(firstWhole, count, (block) => {
          const last = runs[runs.length - 1];
          if (last && last[0] + last[1] === block) last[1]++;
          else runs.push([block, 1]);
        });
        for (const [first, n] of runs) {
          await this.append(first, n, KIND_UNMAP, null);
          for (let i = 0; i < n; i++) await this.remap(first + i, 0);
        }
      } finally {
        release();
      }
    } finally {
      this.leave();
    }
    this.maybeCheckpoint();
  }

  private async zero(position: number, length: number): Promise<void> {
    await this.write(Buffer.alloc(length), 0, length, position, false);
  }

  /** Durable: every record allocated before this call, then fdatasync of the segments written since the last one. */
  flush(): Promise<void> {
    if (this.queuedFlush) return this.queuedFlush;
    const before = this.runningFlush;
    const holder: { run: Promise<void> | null } = { run: null };
    const run = (async () => {
      await null;
      if (before) await before.catch(() => undefined);
      if (this.queuedFlush === holder.run) this.queuedFlush = null;
      this.runningFlush = holder.run;
      try {
        await this.syncLog();
      } finally {
        if (this.runningFlush === holder.run) this.runningFlush = null;
      }
    })();
    holder.run = run;
    this.queuedFlush = run;
    return run;
  }

  private async syncLog(): Promise<void> {
    const pending = [...this.inflight];
    const results = await Promise.allSettled(pending);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason instanceof StoreError ? failed.reason : new StoreError(`write failed: ${(failed.reason as Error).message}`, 'IO');
    if (this.failed) throw new StoreError(`${this.location} stopped taking writes after an I/O error (${this.failed.message})`, 'IO');
    const ids = [...this.unsynced];
    this.unsynced.clear();
    try {
      await Promise.all(ids.map((id) => fdatasyncFn(this.segmentFd(id))));
    } catch (err) {
      for (const id of ids) this.unsynced.add(id);
      throw new StoreError(`fdatasync of ${this.location} failed: ${(err as Error).message}`, 'IO');
    }
  }

  // ------------------------------------------------------------------ checkpoints

  /** Log bytes since the last checkpoint: what a recovery would replay. */
  private get logSinceCheckpoint(): number {
    let bytes = 0;
    for (const s of this.segments.values()) if (s.id >= this.checkpointedAt.segment) bytes += s.tail - (s.id === this.checkpointedAt.segment ? this.checkpointedAt.offset : 0);
    return bytes;
  }

  /** Checkpoints when the index cache is under pressure, or when recovery would replay more than MAX_REPLAY_BYTES. */
  private maybeCheckpoint(): void {
    if (this.gate || this.closed) return;
    if (this.map.wantsCheckpoint || this.active.tail - (this.active.id === this.checkpointedAt.segment ? this.checkpointedAt.offset : 0) > MAX_REPLAY_BYTES || (this.active.id !== this.checkpointedAt.segment && this.logSinceCheckpoint > MAX_REPLAY_BYTES)) {
      void this.withWritesStopped(() => undefined).catch(() => undefined);
    }
  }

  /**
   * Stops new writes, waits for the running ones, makes the log durable, runs `fn`, checkpoints, and lets writes go
   * on. Everything that changes the index outside the write path (snapshots, rollback, GC's deletions) goes here.
   */
  private async withWritesStopped<T>(fn: () => Promise<T> | T): Promise<T> {
    while (this.gate) await this.gate;
    this.gate = new Promise<void>((resolve) => (this.gateOpen = resolve));
    try {
      if (this.activeWrites > 0) await new Promise<void>((resolve) => (this.writesDrained = resolve));
      this.writesDrained = null;
      await this.syncLog();
      const result = await fn();
      this.checkpointNow();
      return result;
    } finally {
      const open = this.gateOpen;
      this.gate = null;
      this.gateOpen = null;
      open?.();
    }
  }

  /** The index as it is now, durable with the log position it corresponds to (the log must be durable already). */
  private checkpointNow(): void {
    const live: Record<string, number> = {};
    const data: Record<string, number> = {};
    for (const s of this.segments.values()) {
      live[s.id] = s.live;
      data[s.id] = s.data;
    }
    const record: Checkpoint = { format: FORMAT, seq: this.seq, segment: this.active.id, offset: this.active.tail, live, data, snapshots: this.snapshots };
    this.map.checkpoint(this.location, record);
    this.checkpointedAt = { segment: this.active.id, offset: this.active.tail };
  }

  // ------------------------------------------------------------------ grow, close, stats

  async grow(newSizeBytes: number): Promise<void> {
    this.assertOpen();
    checkGeometry(newSizeBytes, this.blockSize);
    if (newSizeBytes < this.size) throw new StoreError(`LSFS stores only grow (${this.size} → ${newSizeBytes} refused)`, 'BAD_SIZE');
    if (newSizeBytes === this.size) return;
    await this.withWritesStopped(() => {
      const blocks = Math.ceil(newSizeBytes / LSFS_BLOCK);
      fs.ftruncateSync(this.mapFd, Math.ceil(blocks / ENTRIES_PER_PAGE) * MAP_PAGE_BYTES);
      fs.fsyncSync(this.mapFd);
      this.map.grow(blocks);
      const sbFile = path.join(this.location, 'superblock.json');
      const sb = JSON.parse(fs.readFileSync(sbFile, 'utf8'));
      replaceFileSync(sbFile, JSON.stringify({ ...sb, sizeBytes: newSizeBytes }, null, 2));
      this.size = newSizeBytes;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Snapshots read through this store's segments: they close with it.
    for (const snapshot of [...this.openSnapshots]) await snapshot.close();
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.gcTimer = null;
    await this.gcRunning?.catch(() => undefined);
    try {
      if (!this.failed) await this.withWritesStopped(() => undefined);
    } finally {
      this.closed = true;
      await this.readsSettled();
      await this.batcher?.drain();
      this.closeFds();
      releaseOwnerLock(this.location);
    }
  }

  private closeFds(): void {
    this.batcher = undefined;
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
    fs.closeSync(this.mapFd);
  }

  stats(): LsfsStats {
    let usedBytes = 0;
    let liveBlocks = 0;
    let dataBlocks = 0;
    let headerBytes = 0;
    for (const s of this.segments.values()) {
      usedBytes += s.tail;
      liveBlocks += s.live;
      dataBlocks += s.data;
      headerBytes += s.tail - s.data * LSFS_BLOCK;
    }
    let indexBytes = fs.fstatSync(this.mapFd).blocks * 512;
    for (const snap of this.snapshots) indexBytes += fileBytes(this.snapshotFile(snap.name));
    return {
      logicalBytes: this.size,
      usedBytes: usedBytes + indexBytes,
      liveBytes: liveBlocks * LSFS_BLOCK,
      garbageBytes: (dataBlocks - liveBlocks) * LSFS_BLOCK,
      metadataBytes: indexBytes + headerBytes,
      segments: this.segments.size,
      indexRamBytes: this.map.ramBytes,
      indexRamLimitBytes: this.indexCachePages * MAP_PAGE_BYTES,
      gcRuns: this.gcStats.runs,
      gcCopiedBytes: this.gcStats.copiedBytes,
    };
  }

  override read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    // Counted, so that close waits for reads still on the segment files (cheaper than a set of promises per read).
    this.readsInFlight++;
    return super.read(buf, bufOffset, length, position).then(this.readDone, this.readFailed);
  }

  private readsInFlight = 0;
  private readsIdle: (() => void)[] = [];
  private readonly readDone = (): void => {
    if (--this.readsInFlight === 0 && this.readsIdle.length > 0) this.readsIdle.splice(0).forEach((f) => f());
  };
  private readonly readFailed = (err: unknown): never => {
    this.readDone();
    throw err;
  };

  /** Resolves once no read is in flight. */
  private readsSettled(): Promise<void> {
    if (this.readsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.readsIdle.push(resolve));
  }

  // ------------------------------------------------------------------ garbage collection

  private startGc(): void {
    if (this.gc.threshold <= 0) return;
    this.gcTimer = setInterval(() => {
      if (!this.gcRunning && !this.closed) {
        const pass = this.collect().then(
          () => undefined,
          () => undefined,
        );
        this.gcRunning = pass.finally(() => (this.gcRunning = null));
      }
    }, this.gc.intervalMs);
    this.gcTimer.unref();
  }

  /**
   * One pass: empty segments go; the emptiest one below the threshold has its live blocks copied, then goes.
   * Refused once closed, and false when a close cut the pass short: a caller's `while (await collect())` must end.
   */
  async collect(): Promise<boolean> {
    this.assertOpen();
    const pin = Math.max(0, ...this.snapshots.map((s) => s.pinSegment));
    const candidates = [...this.segments.values()].filter((s) => s.id !== this.active.id && s.id > pin && s.tail > 0);
    const empty = candidates.filter((s) => s.live === 0);
    const victim = candidates
      .filter((s) => s.live > 0 && s.data > 0 && s.live / s.data < this.gc.threshold)
      .sort((a, b) => a.live / a.data - b.live / b.data)[0];
    if (empty.length === 0 && !victim) return false;
    this.gcStats.runs++;
    if (victim) await this.relocateLive(victim);
    if (this.closed) return false;
    const gone = [...empty, ...(victim && victim.live === 0 ? [victim] : [])];
    if (gone.length === 0) return true;
    // With writes stopped: the checkpoint after the deletions must not name a log position whose records are still
    // being written (their index entries would be missing from it). Reads already under way may still use the files.
    await this.withWritesStopped(async () => {
      await this.readsSettled();
      // No I/O may still name a file about to be closed (its descriptor number could be reused at once).
      await this.batcher?.drain();
      for (const s of gone) {
        if (s.live !== 0) continue;
        const fd = this.fds.get(s.id);
        if (fd !== undefined) fs.closeSync(fd);
        this.fds.delete(s.id);
        fs.rmSync(path.join(this.location, segName(s.id)), { force: true });
        this.segments.delete(s.id);
      }
      syncDirSync(this.location);
    });
    return true;
  }

  /** Copies the victim's live blocks to the log head, a record at a time, sleeping to keep to GC's time share. */
  private async relocateLive(victim: Segment): Promise<void> {
    const header = Buffer.alloc(HEADER);
    let offset = 0;
    while (offset < victim.tail && !this.closed) {
      const record = await this.readRecord(victim.id, offset, victim.tail, header);
      if (!record) throw new StoreError(`GC: ${segName(victim.id)} of ${this.location} has an unreadable record at ${offset}`, 'IO');
      const dataAt = offset + HEADER;
      offset += HEADER + (record.kind === KIND_DATA ? record.count * LSFS_BLOCK : 0);
      if (record.kind !== KIND_DATA) continue;
      const started = Date.now();
      for (let i = 0; i < record.count; i++) {
        const block = record.first + i;
        const from = locationOf(victim.id, dataAt + i * LSFS_BLOCK);
        if ((await this.map.get(block)) !== from) continue;
        await this.enter();
        try {
          const release = await this.lockBlocks(block, 1);
          try {
            if ((await this.map.get(block)) !== from) continue; // overwritten meanwhile
            const data = Buffer.allocUnsafe(LSFS_BLOCK);
            await this.readExact(victim.id, data, 0, LSFS_BLOCK, offsetOf(from));
            const at = await this.append(block, 1, KIND_DATA, data);
            this.segments.get(at.segment)!.data += 1;
            await this.remap(block, locationOf(at.segment, at.dataOffset));
            this.gcStats.copiedBytes += LSFS_BLOCK;
          } finally {
            release();
          }
        } finally {
          this.leave();
        }
      }
      const spent = Date.now() - started;
      if (spent > 0 && this.gc.share < 1) await sleep((spent * (1 - this.gc.share)) / this.gc.share);
      this.maybeCheckpoint();
    }
  }

  // ------------------------------------------------------------------ snapshots

  private snapshotFile(name: string): string {
    return path.join(this.location, `snap-${name}.map`);
  }

  listSnapshots(): SnapshotInfo[] {
    return this.snapshots.map((s) => ({ ...s }));
  }

  /** A read-only, point-in-time copy of the device; its blocks stay shared with the live device. */
  async createSnapshot(name: string): Promise<SnapshotInfo> {
    this.assertOpen();
    if (!SNAP_NAME.test(name)) throw new StoreError(`snapshot name ${JSON.stringify(name)}: 1-64 letters, digits, ".", "_" or "-"`, 'IO');
    if (this.snapshots.some((s) => s.name === name)) throw new StoreError(`snapshot ${name} exists already`, 'EEXIST');
    return this.withWritesStopped(() => {
      this.checkpointNow(); // map.bin = the device now
      const file = this.snapshotFile(name);
      fs.copyFileSync(path.join(this.location, 'map.bin'), file, fs.constants.COPYFILE_FICLONE);
      const fd = fs.openSync(file, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      const info = { name, createdAt: new Date().toISOString(), pinSegment: this.active.id };
      this.snapshots = [...this.snapshots, info];
      return info;
    });
  }

  async deleteSnapshot(name: string): Promise<void> {
    this.assertOpen();
    if (!this.snapshots.some((s) => s.name === name)) throw new StoreError(`no snapshot ${name}`, 'ENOENT');
    if ([...this.openSnapshots].some((s) => s.name === name)) throw new StoreError(`snapshot ${name} is open (exported as a LU?): close it first`, 'EEXIST');
    await this.withWritesStopped(() => {
      this.snapshots = this.snapshots.filter((s) => s.name !== name);
    });
    fs.rmSync(this.snapshotFile(name), { force: true });
  }

  /** The snapshot as a read-only store (to export it as a read-only LU, or copy from it). */
  openSnapshot(name: string): LsfsSnapshot {
    this.assertOpen();
    if (!this.snapshots.some((s) => s.name === name)) throw new StoreError(`no snapshot ${name}`, 'ENOENT');
    const fd = fs.openSync(this.snapshotFile(name), 'r');
    const blocks = Math.floor(fs.fstatSync(fd).size / 8);
    const snapshot = new LsfsSnapshot(this, name, fd, new BlockMap(fd, blocks, Math.min(this.indexCachePages, 1024), true), this.snapshots.find((s) => s.name === name)!);
    this.openSnapshots.add(snapshot);
    return snapshot;
  }

  /** Snapshots opened and not closed yet (deleting one of them is refused; closing the store closes them). */
  private readonly openSnapshots = new Set<LsfsSnapshot>();

  /** Internal: an open snapshot was closed. */
  snapshotClosed(snapshot: LsfsSnapshot): void {
    this.openSnapshots.delete(snapshot);
  }

  /** Rollback: the live device becomes the snapshot's content again (the snapshot stays). */
  async rollback(name: string): Promise<void> {
    this.assertOpen();
    if (!this.snapshots.some((s) => s.name === name)) throw new StoreError(`no snapshot ${name}`, 'ENOENT');
    await this.withWritesStopped(async () => {
      this.checkpointNow();
      const mapFile = path.join(this.location, 'map.bin');
      const size = fs.fstatSync(this.mapFd).size;
      fs.closeSync(this.mapFd);
      fs.copyFileSync(this.snapshotFile(name), mapFile, fs.constants.COPYFILE_FICLONE);
      this.mapFd = fs.openSync(mapFile, 'r+');
      if (fs.fstatSync(this.mapFd).size < size) fs.ftruncateSync(this.mapFd, size); // grown since the snapshot
      fs.fsyncSync(this.mapFd);
      this.map = new BlockMap(this.mapFd, Math.ceil(this.size / LSFS_BLOCK), this.indexCachePages);
      // Live counts from the restored index.
      for (const s of this.segments.values()) s.live = 0;
      await this.map.forEachMapped(0, this.map.blockCount, (_block, location) => {
        const seg = this.segments.get(segmentOf(location));
        if (seg) seg.live++;
      });
    });
  }

  /** Internal: segment reads for snapshots. */
  readSegment(segment: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    return this.readExact(segment, buf, offset, length, position);
  }

  // ------------------------------------------------------------------ consistency check

  /**
   * Verifies the whole store: every record's header and checksum, the sequence without gaps, every index entry
   * pointing at a verified record's copy of that very block, and the live counts. Reads everything: an offline or
   * maintenance-window tool (`tandem lsfs check DIR`), and what the crash tests run after every recovery.
   */
  async check(): Promise<LsfsCheckReport> {
    this.assertOpen();
    return this.withWritesStopped(async () => {
      const problems: string[] = [];
      const blockAt = new Map<number, number>();
      const header = Buffer.alloc(HEADER);
      let records = 0;
      for (const seg of [...this.segments.values()].sort((a, b) => a.id - b.id)) {
        let offset = 0;
        let dataBlocks = 0;
        while (offset < seg.tail) {
          const record = await this.readRecord(seg.id, offset, seg.tail, header);
          if (!record) {
            problems.push(`${segName(seg.id)}: unreadable record at ${offset} (tail ${seg.tail})`);
            break;
          }
          records++;
          if (record.kind === KIND_DATA) {
            for (let i = 0; i < record.count; i++) blockAt.set(locationOf(seg.id, offset + HEADER + i * LSFS_BLOCK), record.first + i);
            dataBlocks += record.count;
          }
          offset += HEADER + (record.kind === KIND_DATA ? record.count * LSFS_BLOCK : 0);
        }
        if (dataBlocks !== seg.data) problems.push(`${segName(seg.id)}: holds ${dataBlocks} data blocks, the accounting says ${seg.data}`);
      }
      const live = new Map<number, number>();
      let mappedBlocks = 0;
      await this.map.forEachMapped(0, this.map.blockCount, (block, location) => {
        mappedBlocks++;
        const stored = blockAt.get(location);
        if (stored !== block) problems.push(`block ${block} points at ${segName(segmentOf(location))}+${offsetOf(location)}, which ${stored === undefined ? 'is no verified block' : `holds block ${stored}`}`);
        live.set(segmentOf(location), (live.get(segmentOf(location)) ?? 0) + 1);
        return problems.length < 100;
      });
      for (const seg of this.segments.values()) {
        if ((live.get(seg.id) ?? 0) !== seg.live) problems.push(`${segName(seg.id)}: ${live.get(seg.id) ?? 0} live blocks, the accounting says ${seg.live}`);
      }
      return { ok: problems.length === 0, problems, mappedBlocks, records, segments: this.segments.size };
    });
  }
}

/** A snapshot opened read-only: reads through its own index from the live store's segments. */
export class LsfsSnapshot extends LsfsReader implements BlockStore {
  readonly kind = 'lsfs' as const;
  readonly thin = true;
  readonly blockSize: number;
  readonly location: string;
  private closed = false;

  constructor(
    private readonly live: LsfsStore,
    readonly name: string,
    private readonly fd: number,
    private readonly snapshotIndex: BlockMap,
    readonly info: SnapshotInfo,
  ) {
    super();
    this.blockSize = live.blockSize;
    this.location = `${live.location}@${name}`;
  }

  get sizeBytes(): number {
    return Math.min(this.live.sizeBytes, this.snapshotIndex.blockCount * LSFS_BLOCK);
  }

  protected get index(): BlockMap {
    return this.snapshotIndex;
  }

  protected segmentFd(): number {
    throw new Error('unused: snapshot reads go through the live store');
  }

  protected storeBatcher(): null {
    return null;
  }

  protected override readExact(segment: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    return this.live.readSegment(segment, buf, offset, length, position);
  }

  protected assertOpen(): void {
    if (this.closed) throw new StoreError(`${this.location} is closed`, 'CLOSED');
  }

  async write(): Promise<void> {
    throw new StoreError(`snapshot ${this.location} is read-only`, 'READ_ONLY');
  }

  async flush(): Promise<void> {}

  async grow(): Promise<void> {
    throw new StoreError(`snapshot ${this.location} is read-only`, 'READ_ONLY');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    this.live.snapshotClosed(this);
  }
}

/**
 * One process at a time: `owner.pid` holds the opener's pid. A lock left by a process that is gone (killed) is taken
 * over; one held by a live process is refused — two writers would corrupt the log.
 */
function takeOwnerLock(dir: string): void {
  const file = path.join(dir, 'owner.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreError(`cannot lock ${dir}: ${(err as Error).message}`, 'IO');
    }
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new StoreError(`LSFS store ${dir} is in use by process ${pid} (stop it first; two processes must never open one store)`, 'IO');
    }
    if (pid === process.pid) throw new StoreError(`LSFS store ${dir} is already open in this process`, 'IO');
    fs.rmSync(file, { force: true }); // left by a process that is gone
  }
  throw new StoreError(`cannot lock ${dir}: another process keeps taking it`, 'IO');
}

function releaseOwnerLock(dir: string): void {
  const file = path.join(dir, 'owner.pid');
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fileBytes(file: string): number {
  try {
    return fs.statSync(file).blocks * 512;
  } catch {
    return 0;
  }
}
