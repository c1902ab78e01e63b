// `npm run bench:store`: LSFS against FLAT on the same disk, in one run, through the store API (the stores alone, no
// iSCSI): 4 KiB random writes at queue depth 32 (buffered, and FUA: durable before completion), 4 KiB random reads,
// and the index RAM LSFS needs for a 4 KiB random fill of a large sparse device. Prints ratios; record the results
// in docs/benchmarks.md. Env: BENCH_SCALE (operation counts, default 1), BENCH_DIR (default the OS temp dir: put it
// on the disk you care about), BENCH_FILL_GIB (data written for the RAM figure, default 2), BENCH_SUSTAINED_WRITES
// (writes of the sustained-to-disk case, default 100,000).
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FlatStore, LsfsStore, type BlockStore } from '@tandem/storage';

const MiB = 1 << 20;
const GiB = 1 << 30;
const TiB = 1024 * GiB;
const BLOCK = 4096;
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ROOT = process.env.BENCH_DIR ?? os.tmpdir();
const FILL_GIB = Number(process.env.BENCH_FILL_GIB ?? 2);
const DEVICE = 4 * GiB;
const DEPTH = 32;
const SUSTAINED_WRITES = Number(process.env.BENCH_SUSTAINED_WRITES ?? 100_000);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** `count` operations, `DEPTH` at a time; returns operations per second. */
async function run(count: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: DEPTH }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

const randomBlock = () => Math.floor(Math.random() * (DEVICE / BLOCK)) * BLOCK;

async function measure(store: BlockStore): Promise<{ write: number; fua: number; read: number }> {
  const data = randomBytes(BLOCK);
  const buf = Buffer.alloc(BLOCK * DEPTH);
  const count = Math.round(40_000 * SCALE);
  // Fill a working set first so that reads find data (and FLAT's sparse image has its blocks allocated there).
  const written: number[] = [];
  const write = await run(count, async () => {
    const at = randomBlock();
    written.push(at);
    await store.write(data, 0, BLOCK, at, false);
  });
  await store.flush();
  const fua = await run(Math.round(count / 4), async () => store.write(data, 0, BLOCK, randomBlock(), true));
  const read = await run(count, async (i) => store.read(buf, (i % DEPTH) * BLOCK, BLOCK, written[(i * 7919) % written.length]));
  return { write, fua, read };
}

/**
 * Random 4 KiB writes until they are on the disk: `count` writes at QD32, then one flush, timed together. This is
 * where the store's disk pattern shows: FLAT (preallocated, its default) overwrites scattered blocks in place,
 * LSFS appends. The buffered figure above stops the clock while the data is still in the page cache.
 */
async function sustained(store: BlockStore, count: number): Promise<number> {
  const data = randomBytes(BLOCK);
  await store.flush();
  const start = process.hrtime.bigint();
  await run(count, async () => store.write(data, 0, BLOCK, randomBlock(), false));
  await store.flush();
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

/**
 * Opens a fresh store of `kind` at `where` (FLAT thin or preallocated), runs `use` on it, then closes and deletes it.
 */
async function withStore<T>(kind: 'flat' | 'lsfs', where: string, thin: boolean, use: (store: BlockStore) => Promise<T>): Promise<T> {
  const file = kind === 'flat' ? `${where}.img` : where;
  const store: BlockStore =
    kind === 'flat'
      ? await FlatStore.open({ path: file, sizeBytes: DEVICE, create: true, thin })
      : await LsfsStore.open({ path: file, sizeBytes: DEVICE, create: true });
  try {
    return await use(store);
  } finally {
    await store.close();
    fs.rmSync(file, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(ROOT, 'tandem-bench-store-'));
  const [load] = os.loadavg();
  console.log(`bench:store  ${new Date().toISOString()}  ${os.cpus().length} CPUs  load ${load.toFixed(2)}  dir ${dir}  scale ${SCALE}`);
  try {
    const rounds: { flat: Awaited<ReturnType<typeof measure>>; lsfs: Awaited<ReturnType<typeof measure>> }[] = [];
    for (let round = 0; round < 2; round++) {
      // Alternate the order so neither store always runs on a warmer machine.
      const order = round % 2 === 0 ? (['flat', 'lsfs'] as const) : (['lsfs', 'flat'] as const);
      const result = {} as (typeof rounds)[number];
      for (const kind of order) {
        result[kind] = await withStore(kind, path.join(dir, `${kind}-${round}`), true, measure);
        console.log(`  round ${round + 1} ${kind.padEnd(4)}  write ${fmt(result[kind].write)} IOPS  fua ${fmt(result[kind].fua)} IOPS  read ${fmt(result[kind].read)} IOPS`);
      }
      rounds.push(result);
    }
    const best = (kind: 'flat' | 'lsfs', what: 'write' | 'fua' | 'read') => Math.max(...rounds.map((r) => r[kind][what]));

    // Sustained to disk: FLAT as created by default (preallocated) against LSFS, alternating, best of two.
    const sustainedCount = Math.round(SUSTAINED_WRITES * SCALE);
    const sustainedRates = { flat: [] as number[], lsfs: [] as number[] };
    for (let round = 0; round < 2; round++) {
      for (const kind of round % 2 === 0 ? (['flat', 'lsfs'] as const) : (['lsfs', 'flat'] as const)) {
        sustainedRates[kind].push(await withStore(kind, path.join(dir, `sustained-${kind}-${round}`), false, (store) => sustained(store, sustainedCount)));
        console.log(`  sustained round ${round + 1} ${kind.padEnd(4)}  ${fmt(sustainedRates[kind][round])} IOPS (${fmt(sustainedCount)} writes + flush)`);
      }
    }
    const rows = [
      ['4 KiB QD32 random write (buffered)', 'write', 1.5],
      ['4 KiB QD32 random write (FUA: durable)', 'fua', 1.5],
      ['4 KiB QD32 random read', 'read', 0.8],
    ] as const;

    // Index RAM for a random 4 KiB fill of a 1 TiB sparse device.
    const fillDir = path.join(dir, 'fill');
    const rssBefore = process.memoryUsage().rss;
    const big = await LsfsStore.open({ path: fillDir, sizeBytes: TiB, create: true });
    const fillWrites = Math.round((FILL_GIB * GiB) / BLOCK);
    const data = randomBytes(BLOCK);
    const fillRate = await run(fillWrites, async () => big.write(data, 0, BLOCK, Math.floor(Math.random() * (TiB / BLOCK)) * BLOCK, false));
    const stats = big.stats();
    const rssAfter = process.memoryUsage().rss;
    await big.close();
    fs.rmSync(fillDir, { recursive: true, force: true });
    // Beyond the bounded page cache, RAM grows only with the segment table (one small object per 64 MiB segment).
    const perSegment = 200;
    const segmentsPerTiB = TiB / (64 * MiB);
    const ramPerTiB = stats.indexRamLimitBytes + segmentsPerTiB * perSegment;

    console.log('');
    console.log('| figure | FLAT | LSFS | LSFS ÷ FLAT | target | met |');
    console.log('|---|---:|---:|---:|---:|:---:|');
    for (const [name, what, target] of rows) {
      const ratio = best('lsfs', what) / best('flat', what);
      console.log(`| ${name} | ${fmt(best('flat', what))} IOPS | ${fmt(best('lsfs', what))} IOPS | ${ratio.toFixed(2)} | ≥ ${target} | ${ratio >= target ? 'yes' : 'NO'} |`);
    }
    {
      const flat = Math.max(...sustainedRates.flat);
      const lsfs = Math.max(...sustainedRates.lsfs);
      const ratio = lsfs / flat;
      console.log(`| 4 KiB QD32 random write, sustained to disk (${fmt(sustainedCount)} + flush; FLAT preallocated) | ${fmt(flat)} IOPS | ${fmt(lsfs)} IOPS | ${ratio.toFixed(2)} | ≥ 1.5 | ${ratio >= 1.5 ? 'yes' : 'NO'} |`);
    }
    console.log('');
    console.log(
      `Index RAM after a 4 KiB random fill of ${FILL_GIB} GiB over a 1 TiB sparse device (${fmt(fillWrites)} writes at ${fmt(fillRate)} IOPS, ${stats.segments} segments): ` +
        `index pages ${(stats.indexRamBytes / MiB).toFixed(1)} MiB (limit ${(stats.indexRamLimitBytes / MiB).toFixed(0)} MiB), process RSS +${((rssAfter - rssBefore) / MiB).toFixed(0)} MiB.`,
    );
    console.log(
      `RAM per TiB of logical data: ${(ramPerTiB / MiB).toFixed(1)} MiB (the index page cache, fixed, plus ${fmt(segmentsPerTiB)} segments × ~${perSegment} B) — target ≤ 1024 MiB, aim 256 MiB: ${ramPerTiB <= 256 * MiB ? 'met' : ramPerTiB <= GiB ? 'met (not the aim)' : 'NOT met'}.`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
