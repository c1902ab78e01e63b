import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LSFS_BLOCK, LsfsStore } from './lsfsStore';

const MiB = 1 << 20;
const KiB = 1024;

describe('LsfsStore', () => {
  let root: string;
  let dir: string;
  const stores: LsfsStore[] = [];
  const open = async (options: Partial<Parameters<typeof LsfsStore.open>[0]> = {}) => {
    const store = await LsfsStore.open({ path: dir, sizeBytes: 64 * MiB, create: true, gcThreshold: 0, segmentBytes: 1 * MiB, ...options });
    stores.push(store);
    return store;
  };
  const readBack = async (store: LsfsStore, position: number, length: number) => {
    const buf = Buffer.alloc(length, 0xee);
    await store.read(buf, 0, length, position);
    return buf;
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-lsfs-'));
    dir = path.join(root, 'store');
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('is thin: unwritten blocks read as zeros and cost nothing; writes of any sector alignment read back', async () => {
    const store = await open();
    expect(store.kind).toBe('lsfs');
    expect(store.thin).toBe(true);
    expect((await readBack(store, 0, 64 * KiB)).equals(Buffer.alloc(64 * KiB))).toBe(true);
    expect(store.stats().liveBytes).toBe(0);
    const a = randomBytes(8 * KiB);
    await store.write(a, 0, a.length, 1 * MiB, false);
    const b = randomBytes(1536); // three 512-byte sectors inside one 4 KiB block, then across two
    await store.write(b, 0, b.length, 3 * MiB + 512, false);
    await store.write(b, 0, b.length, 5 * MiB + 3584, true);
    expect((await readBack(store, 1 * MiB, a.length)).equals(a)).toBe(true);
    const around = await readBack(store, 3 * MiB, 4 * KiB);
    expect(around.subarray(512, 2048).equals(b)).toBe(true);
    expect(around.subarray(0, 512).equals(Buffer.alloc(512))).toBe(true);
    expect(around.subarray(2048).equals(Buffer.alloc(2048))).toBe(true);
    expect((await readBack(store, 5 * MiB + 3584, b.length)).equals(b)).toBe(true);
    expect(store.stats().liveBytes).toBe(2 * LSFS_BLOCK + LSFS_BLOCK + 2 * LSFS_BLOCK);
    expect(await store.mappedRanges(0, 64 * MiB, 10)).toEqual([
      { position: 1 * MiB, length: 8 * KiB },
      { position: 3 * MiB, length: 4 * KiB },
      { position: 5 * MiB, length: 8 * KiB },
    ]);
    expect(await store.mappedRanges(0, 64 * MiB, 2)).toHaveLength(2);
    expect((await store.check()).ok).toBe(true);
  });

  it('UNMAP: whole blocks stop costing space and read as zeros, partial edges are zeroed; the state survives reopening', async () => {
    let store = await open();
    const data = randomBytes(64 * KiB);
    await store.write(data, 0, data.length, 0, false);
    await store.discard(4 * KiB + 512, 16 * KiB); // edges: 512 bytes into block 1, ends 512 bytes into block 5
    const expected = Buffer.from(data);
    expected.fill(0, 4 * KiB + 512, 20 * KiB + 512);
    expect((await readBack(store, 0, 64 * KiB)).equals(expected)).toBe(true);
    expect(await store.mappedRanges(0, 64 * KiB, 10)).toEqual([
      { position: 0, length: 8 * KiB },
      { position: 20 * KiB, length: 44 * KiB },
    ]);
    await store.close();
    store = await open();
    expect((await readBack(store, 0, 64 * KiB)).equals(expected)).toBe(true);
    expect((await store.check()).ok).toBe(true);
  });

  it('recovers without a clean close (replays the log from the last checkpoint) and cuts a torn tail', async () => {
    const first = await open();
    const keep = randomBytes(12 * KiB);
    await first.write(keep, 0, keep.length, 0, true);
    const later = randomBytes(4 * KiB);
    await first.write(later, 0, later.length, 40 * KiB, true);
    // A torn record at the head of the log: a header with no data behind it.
    const segments = fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();
    const last = path.join(dir, segments[segments.length - 1]);
    fs.appendFileSync(last, Buffer.concat([Buffer.from([0x31, 0x46, 0x53, 0x4c]), randomBytes(60)]));
    const sizeWithGarbage = fs.statSync(last).size;
    // Open already: a second opener is refused (two writers would corrupt the log).
    await expect(LsfsStore.open({ path: dir })).rejects.toThrow(/already open/);
    // The first instance is abandoned as a killed process would leave it (no close, no checkpoint, its pid gone).
    stores.splice(0);
    fs.writeFileSync(path.join(dir, 'owner.pid'), '2147483646');
    const second = await LsfsStore.open({ path: dir, gcThreshold: 0 });
    stores.push(second);
    expect((await readBack(second, 0, keep.length)).equals(keep)).toBe(true);
    expect((await readBack(second, 40 * KiB, later.length)).equals(later)).toBe(true);
    expect(fs.statSync(last).size).toBeLessThan(sizeWithGarbage);
    expect(await second.check()).toMatchObject({ ok: true, problems: [] });
  });

  it('refuses what it cannot do: missing store, size mismatch, a non-empty directory, a foreign format', async () => {
    await expect(LsfsStore.open({ path: dir })).rejects.toThrow(/does not exist/);
    const store = await open();
    await store.close();
    await expect(LsfsStore.open({ path: dir, sizeBytes: 32 * MiB })).rejects.toThrow(/holds 67108864 bytes/);
    const other = path.join(root, 'other');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'x'), 'x');
    await expect(LsfsStore.open({ path: other, sizeBytes: MiB, create: true })).rejects.toThrow(/not empty/);
    fs.writeFileSync(path.join(dir, 'superblock.json'), '{"format":"something-else","version":1}');
    await expect(LsfsStore.open({ path: dir })).rejects.toThrow(/not a Tandem LSFS store/);
  });

  it('snapshots: instant, read-only, listable; old data stays readable after overwrites; rollback; delete', async () => {
    const store = await open();
    const before = randomBytes(32 * KiB);
    await store.write(before, 0, before.length, 0, false);
    const snap = await store.createSnapshot('before-upgrade');
    expect(store.listSnapshots().map((s) => s.name)).toEqual(['before-upgrade']);
    await expect(store.createSnapshot('before-upgrade')).rejects.toThrow(/exists/);
    await expect(store.createSnapshot('../etc')).rejects.toThrow(/snapshot name/);
    const after = randomBytes(32 * KiB);
    await store.write(after, 0, after.length, 0, false);
    await store.write(after, 0, 4 * KiB, 1 * MiB, false);
    const view = store.openSnapshot(snap.name);
    const seen = Buffer.alloc(32 * KiB);
    await view.read(seen, 0, seen.length, 0);
    expect(seen.equals(before)).toBe(true);
    const hole = Buffer.alloc(4 * KiB, 1);
    await view.read(hole, 0, hole.length, 1 * MiB);
    expect(hole.equals(Buffer.alloc(4 * KiB))).toBe(true);
    await expect(view.write()).rejects.toThrow(/read-only/);
    await view.close();
    expect((await readBack(store, 0, 32 * KiB)).equals(after)).toBe(true);
    await store.rollback(snap.name);
    expect((await readBack(store, 0, 32 * KiB)).equals(before)).toBe(true);
    expect((await readBack(store, 1 * MiB, 4 * KiB)).equals(Buffer.alloc(4 * KiB))).toBe(true);
    expect((await store.check()).ok).toBe(true);
    await store.deleteSnapshot(snap.name);
    expect(store.listSnapshots()).toEqual([]);
    expect(fs.readdirSync(dir).some((f) => f.startsWith('snap-'))).toBe(false);
  });

  it('garbage collection: 5 overwrites of the device with random 4 KiB writes stay within the space bound, data intact', async () => {
    const device = 4 * MiB;
    const store = await open({ sizeBytes: device, segmentBytes: 256 * KiB, gcThreshold: 0.5, gcShare: 1, gcIntervalMs: 60_000 });
    const blocks = device / LSFS_BLOCK;
    const truth = Buffer.alloc(device);
    for (let pass = 0; pass < 5; pass++) {
      for (let i = 0; i < blocks; i++) {
        const block = Math.floor(Math.random() * blocks);
        const data = randomBytes(LSFS_BLOCK);
        data.copy(truth, block * LSFS_BLOCK);
        await store.write(data, 0, LSFS_BLOCK, block * LSFS_BLOCK, false);
      }
      while (await store.collect()) {
        /* until nothing is left below the threshold */
      }
    }
    const stats = store.stats();
    // Bound (docs/architecture.md): live ÷ threshold, plus one segment being filled and one being collected, plus the index.
    const bound = stats.liveBytes / 0.5 + 2 * 256 * KiB + stats.metadataBytes;
    expect(stats.usedBytes).toBeLessThanOrEqual(bound);
    expect(stats.gcCopiedBytes).toBeGreaterThan(0);
    expect((await readBack(store, 0, device)).equals(truth)).toBe(true);
    expect((await store.check()).ok).toBe(true);
  }, 5 * 60_000); // 5,120 writes of 4 KiB plus GC's copies and fsyncs: ~2 s idle, many times that on a busy machine

  it('refuses a GC pass once closed, so a `while (await collect())` loop ends (it spun forever when a timeout closed the store)', async () => {
    const store = await open();
    await store.close();
    await expect(store.collect()).rejects.toThrow(/closed/);
  });

  it('keeps index RAM bounded however much of a large device is written', async () => {
    const store = await open({ sizeBytes: 8 * 1024 * MiB, indexCacheBytes: 64 * KiB, segmentBytes: 4 * MiB });
    const data = randomBytes(LSFS_BLOCK);
    // 400 writes, each in its own index page (a page covers 2 MiB), over 8 GiB.
    for (let i = 0; i < 400; i++) await store.write(data, 0, LSFS_BLOCK, i * 20 * MiB, false);
    const stats = store.stats();
    expect(stats.indexRamLimitBytes).toBe(64 * KiB);
    expect(stats.indexRamBytes).toBeLessThanOrEqual(stats.indexRamLimitBytes);
    expect((await readBack(store, 399 * 20 * MiB, LSFS_BLOCK)).equals(data)).toBe(true);
    expect((await store.check()).ok).toBe(true);
  }, 5 * 60_000); // 400 writes each evicting an index page to disk, then a check of a 16 MiB map: ~1 s idle

  it('grows online (never shrinks), and the new space is thin', async () => {
    const store = await open();
    await store.grow(128 * MiB);
    expect(store.sizeBytes).toBe(128 * MiB);
    const data = randomBytes(4 * KiB);
    await store.write(data, 0, data.length, 100 * MiB, true);
    expect((await readBack(store, 100 * MiB, data.length)).equals(data)).toBe(true);
    await expect(store.grow(64 * MiB)).rejects.toThrow(/only grow/);
    await store.close();
    const again = await open({ sizeBytes: undefined, create: false });
    expect(again.sizeBytes).toBe(128 * MiB);
    expect((await readBack(again, 100 * MiB, data.length)).equals(data)).toBe(true);
  });
});
