#!/usr/bin/env node
'use strict';
// `npm run bench`: Tandem vs tgt (Debian) on loopback, same kind of backing file, measured by `qemu-img bench`
// through QEMU's iscsi driver. Prints IOPS, MB/s and the Tandem/tgt ratio per case, and Tandem's peak RSS.
// Not a timed test: record results in docs/benchmarks.md with the date, machine and this command.
// Options (env): BENCH_SIZE_GIB (default 1), BENCH_SCALE (multiplies request counts, default 1),
// BENCH_ROUNDS (default 3: each case runs that many times per target, alternating which goes first; medians shown).
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const TANDEM_BIN = path.join(ROOT, 'apps', 'cli', 'bin', 'tandem.js');
const HOST = '127.0.0.1';
const SIZE = Number(process.env.BENCH_SIZE_GIB || 1) * 1024 ** 3;
const SCALE = Number(process.env.BENCH_SCALE || 1);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS || 3));
const TANDEM_IQN = 'iqn.2026-11.io.tandem:bench';
const TGT_IQN = 'iqn.2026-11.io.tandem:bench-tgt';
// qemu-img bench has no random mode: a large prime-ish step scatters requests over the whole LUN (wrapping).
const SCATTER_STEP = 257 * 4096 + 4096 * 13;
const CASES = [
  { name: '4 KiB QD32 read (scattered)', size: 4096, depth: 32, count: 40000, write: false, step: SCATTER_STEP },
  { name: '4 KiB QD32 write (scattered)', size: 4096, depth: 32, count: 40000, write: true, step: SCATTER_STEP },
  { name: '1 MiB QD8 read (sequential)', size: 1 << 20, depth: 8, count: 2000, write: false },
  { name: '1 MiB QD8 write (sequential)', size: 1 << 20, depth: 8, count: 2000, write: true },
];

const children = new Set();
let workDir;

function which(bin) {
  for (const dir of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/sbin']) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function cleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stop(child, graceMs) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function makeImage(file) {
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, SIZE);
  fs.closeSync(fd);
  // Allocate the blocks so neither target reads holes; fall back to sparse if fallocate is unavailable.
  spawnSync('fallocate', ['-l', String(SIZE), file], { stdio: 'ignore' });
}

async function startTandem(port, file) {
  if (!fs.existsSync(TANDEM_BIN)) throw new Error(`${TANDEM_BIN} missing: run npm run build`);
  const args = [TANDEM_BIN, 'serve', '--listen', `${HOST}:${port}`, '--target', TANDEM_IQN, '--lun', `0=flat:${file},size=${SIZE / 1024 ** 3}GiB`];
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Tandem not ready in 20 s\n${log}`)), 20000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      log = (log + d).slice(-8192);
      for (const line of d.split('\n')) {
        try {
          if (/\bready\b/.test(JSON.parse(line).msg)) {
            clearTimeout(timer);
            resolve();
          }
        } catch {}
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (log = (log + d).slice(-8192)));
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`Tandem exited (${code ?? sig}) before ready\n${log}`));
    });
  });
  return child;
}

async function startTgt(port, file) {
  const control = String(1000 + (port % 30000));
  const child = track(spawn(which('tgtd'), ['-f', '-C', control, '--iscsi', `portal=${HOST}:${port}`], { stdio: 'ignore' }));
  const adm = (...a) => {
    const r = spawnSync(which('tgtadm'), ['-C', control, '--lld', 'iscsi', ...a], { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) throw new Error(`tgtadm ${a.join(' ')}: ${r.stderr}`);
  };
  for (let i = 0; ; i++) {
    const r = spawnSync(which('tgtadm'), ['-C', control, '--op', 'show', '--mode', 'sys'], { timeout: 5000 });
    if (r.status === 0) break;
    if (i > 100 || child.exitCode !== null) throw new Error('tgtd did not start');
    await sleep(100);
  }
  adm('--op', 'new', '--mode', 'target', '--tid', '1', '-T', TGT_IQN);
  adm('--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', file);
  adm('--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
  return child;
}

function qemuBench(url, c) {
  const count = Math.max(1, Math.round(c.count * SCALE));
  const args = ['bench', '-f', 'raw', '-t', 'none', '-c', String(count), '-d', String(c.depth), '-s', String(c.size)];
  if (c.step) args.push('-S', String(c.step));
  if (c.write) args.push('-w', '--pattern=0xa5');
  args.push(url);
  const r = spawnSync('qemu-img', args, { encoding: 'utf8', timeout: 600000 });
  const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout || '');
  if (r.status !== 0 || !m) throw new Error(`qemu-img ${args.join(' ')} failed: ${r.stderr || r.stdout || r.error}`);
  const secs = Number(m[1]);
  return { iops: count / secs, mbps: (count * c.size) / secs / 1e6, secs };
}

function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function main() {
  for (const bin of ['qemu-img', 'tgtd', 'tgtadm']) {
    if (!which(bin)) throw new Error(`${bin} not found (Debian: qemu-utils qemu-block-extra tgt)`);
  }
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-'));
  const tandemFile = path.join(workDir, 'tandem.img');
  const tgtFile = path.join(workDir, 'tgt.img');
  makeImage(tandemFile);
  makeImage(tgtFile);
  const [tandemPort, tgtPort] = [await freePort(), await freePort()];
  const tandem = await startTandem(tandemPort, tandemFile);
  const tgt = await startTgt(tgtPort, tgtFile);
  const urls = { tandem: `iscsi://${HOST}:${tandemPort}/${TANDEM_IQN}/0`, tgt: `iscsi://${HOST}:${tgtPort}/${TGT_IQN}/1` };

  console.log(`# tandem vs tgt — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(`# ${SIZE / 1024 ** 3} GiB FLAT file each, loopback, qemu-img bench -t none (QEMU iscsi driver), median of ${ROUNDS} rounds`);
  console.log('| case | Tandem IOPS | Tandem MB/s | tgt IOPS | tgt MB/s | Tandem/tgt |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const median = (runs) => runs.sort((x, y) => x.iops - y.iops)[Math.floor(runs.length / 2)];
  for (const c of CASES) {
    const runs = { tandem: [], tgt: [] };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate who goes first so page-cache warmth and background load do not favour one side.
      const order = r % 2 === 0 ? ['tandem', 'tgt'] : ['tgt', 'tandem'];
      for (const who of order) runs[who].push(qemuBench(urls[who], c));
    }
    const a = median(runs.tandem);
    const b = median(runs.tgt);
    console.log(`| ${c.name} | ${a.iops.toFixed(0)} | ${a.mbps.toFixed(1)} | ${b.iops.toFixed(0)} | ${b.mbps.toFixed(1)} | ${(a.iops / b.iops).toFixed(2)} |`);
  }
  console.log(`Tandem peak RSS (VmHWM): ${peakRssMiB(tandem.pid).toFixed(1)} MiB`);
  await stop(tandem, 6000);
  await stop(tgt, 1500);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench: ${err && err.message ? err.message : err}`);
    process.exit(1);
  },
);
