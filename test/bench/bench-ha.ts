// `npm run bench:ha`: a HA device mirrored on two node processes against the same disk served by one node, in one
// run: write IOPS and MB/s (HA ÷ single), failover time (kill -9 of the serving node → next write completes on the
// other), and resync MB/s against the disk's own sequential write rate. Loopback, so both nodes and the initiator
// share this machine's cores: the ratios are the point. Record results in docs/benchmarks.md.
// Also, in the same run: target CPU µs per write (serving node ÷ single, and the partner's), 4 KiB QD1 write latency
// (tandem bench) through node-a and through node-b minus the single node's, against the floor of one sync round trip
// (a 4 KiB message and reply between two Node processes on loopback).
// Env: BENCH_ROUNDS (default 3, medians), BENCH_SCALE (request counts, default 1), BENCH_RESYNC_MIB (default 512),
// BENCH_SECONDS (each QD1 latency run, default 5),
// BENCH_PIN=1: the serving node (single, or node-a) alone on CPU 0, node-b and the initiator on CPU 1 (taskset) — each
// node with a core of its own, as on separate machines, rather than everything competing for both cores.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { haEvents, haPair, kill9, startNode, stopNode, type HaNode } from '../support/haPair';
import { freePort, spawnTracked, stopChild } from '@tandem/testing';
import { qemuIo } from '../support/qemuIo';
import { TANDEM_BIN } from '../support/target';
import { until } from '../support/until';
import { loopbackRtt } from './loopbackRtt';
import { CpuTicks, clockTicksPerSecond, sampleCpu } from './procCpu';

const MiB = 1 << 20;
const SIZE = 1024 * MiB;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const RESYNC_MIB = Number(process.env.BENCH_RESYNC_MIB ?? 512);
const PIN = process.env.BENCH_PIN === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** argv prefix that runs a command on one CPU (BENCH_PIN=1), else nothing. */
const onCpu = (cpu: number): string[] => (PIN ? ['taskset', '-c', String(cpu)] : []);
function pinned(cpu: number, command: string, args: string[]): [string, string[]] {
  const argv = [...onCpu(cpu), command, ...args];
  return [argv[0], argv.slice(1)];
}
const STEP = 257 * 4096 + 4096 * 13;
const CASES = [
  { name: '4 KiB QD32 write (scattered)', size: 4096, depth: 32, count: 30000, step: STEP },
  { name: '1 MiB QD8 write (sequential)', size: MiB, depth: 8, count: 1000, step: 0 },
];

function qemuBench(target: string, c: (typeof CASES)[number], extra: string[] = []): { iops: number; mbps: number } {
  const count = Math.max(1, Math.round(c.count * SCALE));
  const args = ['bench', '-f', 'raw', '-t', 'none', '-w', '--pattern=0x5a', '-c', String(count), '-d', String(c.depth), '-s', String(c.size), ...(c.step ? ['-S', String(c.step)] : []), ...extra, target];
  const r = spawnSync(...pinned(1, 'qemu-img', args), { encoding: 'utf8', timeout: 600_000 });
  const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new Error(`qemu-img ${args.join(' ')}: ${r.stderr || r.stdout}`);
  const secs = Number(m[1]);
  return { iops: count / secs, mbps: (count * c.size) / secs / 1e6 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (0 for a process not running). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let t: CpuTicks;
  try {
    t = sampleCpu(pid);
  } catch {
    return 0; // gone (node-b while stopped)
  }
  return (t.utime + t.stime) / clockTicksPerSecond();
}

/** Runs a qemu-img bench and also returns the CPU microseconds per I/O the given target processes spent on it. */
function measuredBench(target: string, c: (typeof CASES)[number], pids: (number | undefined)[]): { iops: number; cpuUs: number[] } {
  const before = pids.map(cpuSeconds);
  const r = qemuBench(target, c);
  const count = Math.max(1, Math.round(c.count * SCALE));
  return { iops: r.iops, cpuUs: pids.map((pid, i) => ((cpuSeconds(pid) - before[i]) / count) * 1e6) };
}

async function startSingle(dir: string): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  const port = await freePort();
  const iqn = 'iqn.2026-11.io.tandem:bench-single';
  const child = spawnTracked(...pinned(0, process.execPath, [TANDEM_BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--target', iqn, '--lun', `0=flat:${path.join(dir, 'single.img')},size=1GiB,create,thin`]));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`single node not ready:\n${log}`)), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      log += d;
      if (/"msg":"ready"/.test(d)) (clearTimeout(t), resolve());
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  });
  return { url: `iscsi://127.0.0.1:${port}/${iqn}/0`, pid: child.pid, stop: () => stopChild(child, 5000).then(() => undefined) };
}

const qemuIoOk = async (url: string, command: string): Promise<boolean> => (await qemuIo(url, [command], 10_000)).ok;

async function main(): Promise<void> {
  const tools: [string, string][] = [['qemu-img', 'qemu-utils, qemu-block-extra'], ['qemu-io', 'qemu-utils, qemu-block-extra'], ...(PIN ? [['taskset', 'util-linux'] as [string, string]] : [])];
  for (const [tool, pkg] of tools) if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} missing (${pkg})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-ha-'));
  const rows: string[] = [];
  let a: HaNode | undefined;
  let b: HaNode | undefined;
  try {
    const single = await startSingle(dir);
    ({ a, b } = await haPair({ dir, sizeBytes: SIZE, startupWaitMs: 2000 }));
    a.exec = [...onCpu(0), ...a.exec];
    b.exec = [...onCpu(1), ...b.exec];
    await Promise.all([startNode(a), startNode(b)]);
    await until(async () => (await qemuIoOk(a!.url, 'read 0 4k')) && (await qemuIoOk(b!.url, 'read 0 4k')), 'the HA pair serving', 30_000);
    // Allocate both sides first so neither measures sparse-file growth.
    for (const url of [single.url, a.url]) qemuBench(url, { name: 'fill', size: MiB, depth: 8, count: 1024, step: 0 });
    process.stdout.write(`\nHA write cost: tandem serve (one node) vs HA device through node-a, mirrored to node-b; median of ${ROUNDS}${PIN ? '; pinned: serving node on CPU 0, node-b and qemu on CPU 1' : ''}\n`);
    for (const c of CASES) {
      const s: number[] = [];
      const h: number[] = [];
      const sCpu: number[] = [];
      const aCpu: number[] = [];
      const bCpu: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? ['single', 'ha'] : ['ha', 'single'];
        for (const which of order) {
          if (which === 'single') {
            const r = measuredBench(single.url, c, [single.pid]);
            s.push(r.iops);
            sCpu.push(r.cpuUs[0]);
          } else {
            const r = measuredBench(a.url, c, [a.child?.pid, b.child?.pid]);
            h.push(r.iops);
            aCpu.push(r.cpuUs[0]);
            bCpu.push(r.cpuUs[1]);
          }
        }
      }
      const si = median(s);
      const hi = median(h);
      const line = `| ${c.name} | ${si.toFixed(0)} | ${((si * c.size) / 1e6).toFixed(1)} | ${hi.toFixed(0)} | ${((hi * c.size) / 1e6).toFixed(1)} | ${(hi / si).toFixed(2)} | ${median(sCpu).toFixed(0)} | ${median(aCpu).toFixed(0)} + ${median(bCpu).toFixed(0)} |`;
      rows.push(line);
      process.stdout.write(`${line}\n`);
    }
    await single.stop();

    // Resync rate: node-b away while RESYNC_MIB are written through node-a, then back.
    const diskFile = path.join(dir, 'disk-rate.img');
    fs.closeSync(fs.openSync(diskFile, 'w'));
    fs.truncateSync(diskFile, RESYNC_MIB * MiB);
    const disk = qemuBench(diskFile, { name: 'disk', size: MiB, depth: 8, count: RESYNC_MIB, step: 0 }, []);
    await stopNode(b);
    qemuBench(a.url, { name: 'dirty', size: MiB, depth: 8, count: RESYNC_MIB, step: 0 });
    b.log = '';
    const before = haEvents(a).length;
    const aCpuBefore = cpuSeconds(a.child?.pid);
    await startNode(b);
    const bCpuBefore = cpuSeconds(b.child?.pid);
    const done = await until(() => haEvents(a!).slice(before).find((e) => e.type === 'ResyncCompleted'), 'the resync', 300_000, 20);
    // CPU the two nodes spent from node-b's start to the end of the resync (node-a: the copy; node-b: start-up too).
    const aCpu = cpuSeconds(a.child?.pid) - aCpuBefore;
    const bCpu = cpuSeconds(b.child?.pid) - bCpuBefore;
    const resyncMBps = (done.bytes as number) / 1e6 / Math.max(0.001, done.seconds as number);
    const resyncLine =
      `resync (${String(done.kind)}): ${(done.bytes as number) / MiB} MiB in ${done.seconds} s = ${resyncMBps.toFixed(0)} MB/s; the disk's own sequential 1 MiB QD8 write rate ${disk.mbps.toFixed(0)} MB/s → ${(resyncMBps / disk.mbps).toFixed(2)}×` +
      `; CPU meanwhile: node-a ${aCpu.toFixed(2)} s, node-b ${bCpu.toFixed(2)} s`;
    process.stdout.write(`${resyncLine}\n`);
    await until(async () => qemuIoOk(b!.url, 'read 0 4k'), 'node-b serving again', 60_000);

    // Failover: kill -9 node-a; how long until a write through node-b completes.
    const killedAt = Date.now();
    await kill9(a);
    await until(async () => qemuIoOk(b!.url, 'write -P 0x77 0 4k'), 'a write through node-b', 30_000, 20);
    const failoverMs = Date.now() - killedAt;
    const failoverLine = `failover: kill -9 of node-a → a write completed through node-b after ${failoverMs} ms (includes starting qemu-io, ~40 ms)`;
    process.stdout.write(`${failoverLine}\n`);

    process.stdout.write(
      `\n| case | single IOPS | single MB/s | HA IOPS | HA MB/s | HA/single | CPU µs per write, single | CPU µs per write, HA node-a + node-b |\n|---|---:|---:|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n\n${resyncLine}\n${failoverLine}\n`,
    );
    process.stdout.write(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  } finally {
    if (a) await stopNode(a);
    if (b) await stopNode(b);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench:ha: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
