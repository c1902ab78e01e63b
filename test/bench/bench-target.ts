// `npm run bench`: Tandem vs tgt (Debian) on loopback, each on a 1 GiB FLAT file, in one run. Throughput cases by
// `qemu-img bench` through QEMU's iSCSI driver (today's four); 4 KiB QD1 latency (mean, p50, p99) and a 70/30
// random read/write mix at 16 KiB QD16 by `tandem bench`, which drives tgt as well. For every case, the CPU µs per
// I/O and I/Os per CPU-second of the target process (`tandem serve`, `tgtd`) from /proc/PID/stat before and after.
// Prints Tandem/tgt per case. Not a timed test: record results in docs/benchmarks.md with the date, load and command.
// Env: BENCH_SIZE_GIB (default 1), BENCH_SCALE (qemu-img request counts, default 1), BENCH_ROUNDS (default 3: each
// case that many times per target, alternating which goes first; medians shown, CPU summed over the rounds),
// BENCH_SECONDS (each `tandem bench` run, default 5).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { TANDEM_BIN, freePort, run, stopChild } from '@tandem/testing';
import { findBinary } from '../support/tools';
import { BenchTarget, makeImage, peakRssMiB, startTandem, startTgt } from './benchTargets';
import { CpuTicks, clockTicksPerSecond, cpuPerIo, sampleCpu, sumTicks } from './procCpu';

const SIZE = Number(process.env.BENCH_SIZE_GIB ?? 1) * 1024 ** 3;
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
// qemu-img bench has no random mode: a large prime-ish step scatters requests over the whole LUN (wrapping).
const SCATTER_STEP = 257 * 4096 + 4096 * 13;

type Case =
  | { name: string; tool: 'qemu-img'; size: number; depth: number; count: number; write: boolean; step?: number }
  | { name: string; tool: 'tandem bench'; rw: string; bs: number; qd: number; rwmixread?: number };

const CASES: Case[] = [
  { name: '4 KiB QD32 read (scattered)', tool: 'qemu-img', size: 4096, depth: 32, count: 40000, write: false, step: SCATTER_STEP },
  { name: '4 KiB QD32 write (scattered)', tool: 'qemu-img', size: 4096, depth: 32, count: 40000, write: true, step: SCATTER_STEP },
  { name: '1 MiB QD8 read (sequential)', tool: 'qemu-img', size: 1 << 20, depth: 8, count: 2000, write: false },
  { name: '1 MiB QD8 write (sequential)', tool: 'qemu-img', size: 1 << 20, depth: 8, count: 2000, write: true },
  { name: '4 KiB QD1 read (random)', tool: 'tandem bench', rw: 'randread', bs: 4096, qd: 1 },
  { name: '4 KiB QD1 write (random)', tool: 'tandem bench', rw: 'randwrite', bs: 4096, qd: 1 },
  { name: '16 KiB QD16 70/30 read/write (random)', tool: 'tandem bench', rw: 'randrw', bs: 16384, qd: 16, rwmixread: 70 },
];

interface Outcome {
  ios: number;
  iops: number;
  mbps: number;
  /** µs; from tandem bench only (qemu-img bench prints the run's length alone). */
  latency?: { mean: number; p50: number; p99: number };
}

function qemuBench(url: string, c: Extract<Case, { tool: 'qemu-img' }>): Outcome {
  const count = Math.max(1, Math.round(c.count * SCALE));
  const args = ['bench', '-f', 'raw', '-t', 'none', '-c', String(count), '-d', String(c.depth), '-s', String(c.size)];
  if (c.step) args.push('-S', String(c.step));
  if (c.write) args.push('-w', '--pattern=0xa5');
  args.push(url);
  const r = spawnSync('qemu-img', args, { encoding: 'utf8', timeout: 600_000 });
  const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new Error(`qemu-img ${args.join(' ')} failed: ${r.stderr || r.stdout || r.error}`);
  const secs = Number(m[1]);
  return { ios: count, iops: count / secs, mbps: (count * c.size) / secs / 1e6 };
}

async function tandemBench(url: string, c: Extract<Case, { tool: 'tandem bench' }>): Promise<Outcome> {
  const args = [TANDEM_BIN, 'bench', '--path', url, '--rw', c.rw, '--bs', String(c.bs), '--qd', String(c.qd), '--seconds', String(SECONDS), '--json', '--no-progress'];
  if (c.rwmixread !== undefined) args.push('--rwmixread', String(c.rwmixread));
  const r = await run(process.execPath, args, { timeoutMs: (SECONDS + 120) * 1000 });
  if (r.code !== 0) throw new Error(`tandem ${args.slice(1).join(' ')} exited ${r.code ?? r.signal}: ${r.stderr || r.stdout}`);
  const report = JSON.parse(r.stdout) as { ios: number; iops: number; mbPerSecond: number; errors: number; latencyUs: { mean: number; p50: number; p99: number } };
  if (report.errors > 0) throw new Error(`tandem bench against ${url}: ${report.errors} errors`);
  return { ios: report.ios, iops: report.iops, mbps: report.mbPerSecond, latency: { mean: report.latencyUs.mean, p50: report.latencyUs.p50, p99: report.latencyUs.p99 } };
}

/** One run of a case against one target, with the target process's CPU ticks before and after. */
async function measured(t: BenchTarget, c: Case): Promise<{ outcome: Outcome; cpu: [CpuTicks, CpuTicks] }> {
  const before = sampleCpu(t.pid);
  const outcome = c.tool === 'qemu-img' ? qemuBench(t.url, c) : await tandemBench(t.url, c);
  return { outcome, cpu: [before, sampleCpu(t.pid)] };
}

interface CaseResult {
  c: Case;
  tandem: Outcome;
  tgt: Outcome;
  cpu: { tandem: ReturnType<typeof cpuPerIo>; tgt: ReturnType<typeof cpuPerIo> };
}

const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '∞');

function report(results: CaseResult[], ticksPerSecond: number): string {
  const out: string[] = [];
  out.push('| case | tool | Tandem IOPS | Tandem MB/s | tgt IOPS | tgt MB/s | Tandem/tgt |', '|---|---|---:|---:|---:|---:|---:|');
  for (const r of results) out.push(`| ${r.c.name} | ${r.c.tool} | ${r.tandem.iops.toFixed(0)} | ${r.tandem.mbps.toFixed(1)} | ${r.tgt.iops.toFixed(0)} | ${r.tgt.mbps.toFixed(1)} | ${ratio(r.tandem.iops, r.tgt.iops)} |`);
  out.push('', 'Latency, µs (tandem bench; lower is better, so Tandem/tgt < 1 favours Tandem):', '');
  out.push('| case | Tandem mean | p50 | p99 | tgt mean | p50 | p99 | Tandem/tgt mean | Tandem/tgt p99 |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const a = r.tandem.latency;
    const b = r.tgt.latency;
    if (a && b) out.push(`| ${r.c.name} | ${a.mean} | ${a.p50} | ${a.p99} | ${b.mean} | ${b.p50} | ${b.p99} | ${ratio(a.mean, b.mean)} | ${ratio(a.p99, b.p99)} |`);
  }
  out.push('', `Target process CPU (/proc/PID/stat utime+stime in ${ticksPerSecond} ticks/s, summed over the rounds, login and logout of tandem bench runs included; lower µs per I/O is better):`, '');
  out.push('| case | Tandem CPU µs/I/O | tgt CPU µs/I/O | Tandem/tgt | Tandem I/Os per CPU-s | tgt I/Os per CPU-s | Tandem/tgt |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const a = r.cpu.tandem;
    const b = r.cpu.tgt;
    out.push(`| ${r.c.name} | ${a.cpuUsPerIo.toFixed(1)} | ${b.cpuUsPerIo.toFixed(1)} | ${ratio(a.cpuUsPerIo, b.cpuUsPerIo)} | ${int(a.iopsPerCpuSecond)} | ${int(b.iopsPerCpuSecond)} | ${ratio(a.iopsPerCpuSecond, b.iopsPerCpuSecond)} |`);
  }
  out.push('', ...targetLines(results));
  return out.join('\n');
}

/** Issue 19's targets, each met or not with the figures behind it (printed, never asserted). */
function targetLines(results: CaseResult[]): string[] {
  const missed = (pred: (r: CaseResult) => boolean, of: CaseResult[]) => of.filter((r) => !pred(r)).map((r) => r.c.name);
  const say = (what: string, m: string[], n: number) => `- ${what}: ${m.length === 0 ? 'met' : `MISSED in ${m.length} of ${n} (${m.join('; ')})`}`;
  const withLatency = results.filter((r) => r.tandem.latency && r.tgt.latency && r.c.name.includes('QD1'));
  const reads4k = results.find((r) => r.c.name.startsWith('4 KiB QD32 read'));
  return [
    'Targets (issue 19):',
    say('every Tandem/tgt throughput ratio ≥ 2.0', missed((r) => r.tandem.iops >= 2 * r.tgt.iops, results), results.length),
    say('QD1 mean latency ≤ tgt’s', missed((r) => r.tandem.latency!.mean <= r.tgt.latency!.mean, withLatency), withLatency.length),
    say('target CPU µs per I/O ≤ tgt’s', missed((r) => r.cpu.tandem.cpuUsPerIo <= r.cpu.tgt.cpuUsPerIo, results), results.length),
    ...(reads4k ? [`- target I/Os per CPU-second at 4 KiB reads ≥ 100,000: Tandem ${int(reads4k.cpu.tandem.iopsPerCpuSecond)} (${reads4k.cpu.tandem.iopsPerCpuSecond >= 100_000 ? 'met' : 'MISSED'}), tgt ${int(reads4k.cpu.tgt.iopsPerCpuSecond)}`] : []),
  ];
}

async function main(): Promise<void> {
  for (const bin of ['qemu-img', 'tgtd', 'tgtadm']) if (!findBinary(bin)) throw new Error(`${bin} not found (Debian: qemu-utils qemu-block-extra tgt)`);
  const ticksPerSecond = clockTicksPerSecond();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-'));
  let tandem: BenchTarget | undefined;
  let tgt: BenchTarget | undefined;
  try {
    makeImage(path.join(dir, 'tandem.img'), SIZE);
    makeImage(path.join(dir, 'tgt.img'), SIZE);
    tandem = await startTandem(await freePort(), path.join(dir, 'tandem.img'), SIZE);
    tgt = await startTgt(await freePort(), path.join(dir, 'tgt.img'));
    const targets = { tandem, tgt };
    // Prefill both LUNs with data, so reads meet written blocks on either side.
    const fill = { name: 'prefill', tool: 'qemu-img' as const, size: 1 << 20, depth: 8, count: SIZE / (1 << 20) / SCALE, write: true };
    for (const t of [tandem, tgt]) qemuBench(t.url, fill);

    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`# tandem vs tgt — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average before ${load}`);
    console.log(`# ${SIZE / 1024 ** 3} GiB FLAT file each, prefilled, loopback; qemu-img bench -t none (QEMU iscsi driver) and tandem bench (${SECONDS} s per run); median of ${ROUNDS} rounds`);
    const results: CaseResult[] = [];
    const median = (runs: Outcome[]) => [...runs].sort((x, y) => x.iops - y.iops)[Math.floor(runs.length / 2)];
    for (const c of CASES) {
      const runs = { tandem: [] as Outcome[], tgt: [] as Outcome[] };
      const cpu = { tandem: [] as [CpuTicks, CpuTicks][], tgt: [] as [CpuTicks, CpuTicks][] };
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate who goes first so page-cache warmth and background load do not favour one side.
        const order: ('tandem' | 'tgt')[] = r % 2 === 0 ? ['tandem', 'tgt'] : ['tgt', 'tandem'];
        for (const who of order) {
          const m = await measured(targets[who], c);
          runs[who].push(m.outcome);
          cpu[who].push(m.cpu);
        }
      }
      const ios = (w: 'tandem' | 'tgt') => runs[w].reduce((s, o) => s + o.ios, 0);
      const result: CaseResult = {
        c,
        tandem: median(runs.tandem),
        tgt: median(runs.tgt),
        cpu: {
          tandem: cpuPerIo(...sumTicks(cpu.tandem), ios('tandem'), ticksPerSecond),
          tgt: cpuPerIo(...sumTicks(cpu.tgt), ios('tgt'), ticksPerSecond),
        },
      };
      results.push(result);
      console.log(`${c.name}: Tandem ${result.tandem.iops.toFixed(0)} IOPS, tgt ${result.tgt.iops.toFixed(0)} IOPS (${ratio(result.tandem.iops, result.tgt.iops)})`);
    }
    console.log('');
    console.log(report(results, ticksPerSecond));
    console.log(`\nTandem peak RSS (VmHWM): ${peakRssMiB(tandem.pid).toFixed(1)} MiB; load average after ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await stopChild(tandem?.child, 6000);
    await stopChild(tgt?.child, 1500);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
