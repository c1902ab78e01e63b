// Write-back ÷ write-through RAM cache on a FLAT store, in one run, through the store API (no iSCSI): 4 KiB random
// writes at queue depth 32. Write-through completes each write once the store has it durably (FUA); write-back once
// it is in RAM. Two figures for write-back: while the writes fit under the dirty limit ("burst"), and with more data
// than the limit so writers wait for the flusher ("sustained", includes the final flush). Also prints the cache's
// flush-time estimate against the time the final flush really took. Record results in docs/benchmarks.md.
// Run: npx tsc -b && node libs/event-store/src/testing/run-ts.js test/bench/bench-cache.ts
// Env: BENCH_SCALE (operation counts, default 1), BENCH_DIR (default the OS temp dir: put it on the disk you care about).
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CachedStore, FlatStore, type CacheMode } from '@tandem/storage';

const MiB = 1 << 20;
const GiB = 1 << 30;
const BLOCK = 4096;
const DEPTH = 32;
const DEVICE = 2 * GiB;
const CACHE = 256 * MiB; // dirty limit: half of it
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ROOT = process.env.BENCH_DIR ?? os.tmpdir();

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** `count` operations, `DEPTH` at a time; returns seconds taken. */
async function run(count: number, op: () => Promise<void>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: DEPTH }, async () => {
      while (next++ < count) await op();
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const randomBlock = () => Math.floor(Math.random() * (DEVICE / BLOCK)) * BLOCK;

interface Result {
  iops: number;
  /** Write-back only: IOPS counting the final flush, seconds the cache estimated for it and seconds it took. */
  iopsWithFlush?: number;
  estimate?: number | null;
  flushSeconds?: number;
}

async function measure(file: string, mode: CacheMode, count: number): Promise<Result> {
  const flat = await FlatStore.open({ path: file, sizeBytes: DEVICE, create: true, thin: true });
  const store = new CachedStore(flat, { mode, sizeBytes: CACHE, flushDelayMs: 50 });
  const data = randomBytes(BLOCK);
  try {
    const secs = await run(count, () => store.write(data, 0, BLOCK, randomBlock(), false));
    if (mode !== 'WRITE_BACK') return { iops: count / secs };
    const estimate = store.stats().estimatedFlushSeconds;
    const t0 = process.hrtime.bigint();
    await store.flush();
    const flushSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { iops: count / secs, iopsWithFlush: count / (secs + flushSeconds), estimate, flushSeconds };
  } finally {
    await store.close();
    fs.rmSync(file, { force: true });
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(ROOT, 'tandem-bench-cache-'));
  const [load] = os.loadavg();
  console.log(`bench:cache  ${new Date().toISOString()}  ${os.cpus().length} CPUs  load ${load.toFixed(2)}  dir ${dir}  scale ${SCALE}  cache ${CACHE / MiB} MiB (dirty limit ${CACHE / 2 / MiB} MiB)`);
  const burst = Math.round(16_000 * SCALE); // 62.5 MiB: under the dirty limit
  const sustained = Math.round(64_000 * SCALE); // 250 MiB: about twice the dirty limit
  const wtCount = Math.round(8_000 * SCALE);
  try {
    const ratios: number[] = [];
    for (let round = 0; round < 2; round++) {
      // Alternate the order so neither mode always runs on a warmer machine.
      const wtFirst = round % 2 === 0;
      let wt: Result | undefined;
      if (wtFirst) wt = await measure(path.join(dir, `wt-${round}.img`), 'WRITE_THROUGH', wtCount);
      const wbBurst = await measure(path.join(dir, `wb-burst-${round}.img`), 'WRITE_BACK', burst);
      const wbSust = await measure(path.join(dir, `wb-sust-${round}.img`), 'WRITE_BACK', sustained);
      if (!wtFirst) wt = await measure(path.join(dir, `wt-${round}.img`), 'WRITE_THROUGH', wtCount);
      const est = (r: Result) => (r.estimate === null || r.estimate === undefined ? 'n/a' : `${r.estimate.toFixed(2)} s`);
      console.log(`  round ${round + 1}  write-through ${fmt(wt!.iops)} IOPS`);
      console.log(`           write-back burst (${fmt(burst)} writes) ${fmt(wbBurst.iops)} IOPS, with final flush ${fmt(wbBurst.iopsWithFlush!)}; flush estimated ${est(wbBurst)}, took ${wbBurst.flushSeconds!.toFixed(2)} s`);
      console.log(`           write-back sustained (${fmt(sustained)} writes) ${fmt(wbSust.iops)} IOPS, with final flush ${fmt(wbSust.iopsWithFlush!)}; flush estimated ${est(wbSust)}, took ${wbSust.flushSeconds!.toFixed(2)} s`);
      ratios.push(wbSust.iopsWithFlush! / wt!.iops);
      console.log(`           write-back ÷ write-through: burst ${(wbBurst.iops / wt!.iops).toFixed(1)}×, sustained incl. flush ${(wbSust.iopsWithFlush! / wt!.iops).toFixed(1)}×`);
    }
    console.log(`write-back ÷ write-through (sustained, incl. final flush), mean of rounds: ${(ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(1)}×`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
