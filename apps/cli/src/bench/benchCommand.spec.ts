// `tandem bench` as a user runs it: the built CLI against `tandem serve` with two portal groups.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort } from '@tandem/testing';

jest.setTimeout(120_000); // a child target and a child CLI per test: node start-ups a busy machine can make slow

const CLI = path.resolve(__dirname, '..', '..', 'bin', 'tandem.js');
const IQN = 'iqn.2026-11.io.tandem:bench-cli';

/** Runs the CLI to completion (killed after timeoutMs). */
function tandem(args: string[], timeoutMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('tandem bench', () => {
  let dir: string;
  let ports: number[];
  let serve: ReturnType<typeof spawn> | undefined;
  const url = (i: number) => `iscsi://127.0.0.1:${ports[i]}/${IQN}/0`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-'));
    ports = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [CLI, 'serve', '--listen', `127.0.0.1:${ports[0]},tpg=1`, '--listen', `127.0.0.1:${ports[1]},tpg=2`,
      '--target', IQN, '--lun', `0=flat:${path.join(dir, 'bench.img')},size=32MiB,create`], { stdio: ['ignore', 'pipe', 'pipe'] });
    serve = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`tandem serve not ready:\n${out}`)), 90_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (/"msg":"ready"/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`tandem serve exited ${code}:\n${out}`)));
    });
  });
  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGTERM');
      const timer = setTimeout(() => serve!.kill('SIGKILL'), 6000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('measures over two paths and prints JSON with per-path counts', async () => {
    const r = await tandem(['bench', '--path', url(0), '--path', url(1), '--policy', 'rr', '--rw', 'randwrite', '--bs', '4k', '--qd', '8', '--seconds', '1', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ pattern: 'randwrite', blockSize: 4096, queueDepth: 8, policy: 'round-robin', errors: 0 });
    expect(report.iops).toBeGreaterThan(0);
    expect(report.latencyUs.p50).toBeGreaterThan(0);
    expect(report.latencyUs.p999).toBeGreaterThanOrEqual(report.latencyUs.p99);
    expect(report.paths).toHaveLength(2);
    const [a, b] = report.paths.map((p: { commands: number }) => p.commands);
    expect(a + b).toBe(report.ios);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(8); // round robin: one in flight per worker at most apart
  });

  it('runs a random read/write mix and counts reads and writes apart', async () => {
    const r = await tandem(['bench', '--path', url(0), '--rw', 'randrw', '--rwmixread', '70', '--bs', '16k', '--qd', '4', '--seconds', '1', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ pattern: 'randrw', blockSize: 16384, queueDepth: 4, errors: 0, mix: { readPercent: 70 } });
    expect(report.mix.reads + report.mix.writes).toBe(report.ios);
    // Both kinds ran; with hundreds of I/Os a 70 % draw lands well inside 40–95 % (the exact share is chance).
    expect(report.ios).toBeGreaterThanOrEqual(100);
    const share = report.mix.reads / report.ios;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.95);
  });

  it('prints a readable report', async () => {
    const r = await tandem(['bench', '--path', url(0), '--path', url(1), '--policy', 'failover', '--rw', 'read', '--bs', '64k', '--qd', '4', '--seconds', '0.5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tandem bench: read 64KiB qd 4 for 0.5 s, 2 paths \(failover\)/);
    expect(r.stdout).toMatch(/^IOPS +\d+$/m);
    expect(r.stdout).toMatch(/^MB\/s +\d+\.\d\d$/m);
    expect(r.stdout).toMatch(/^latency µs {2}p50 \d+ {2}p99 \d+ {2}p99\.9 \d+/m);
    expect(r.stdout).toMatch(new RegExp(`${ports[1]}/${IQN}/0 +up +active/optimized +0 +0\\.0%`));
  });

  it.each([
    [['--path', 'iscsi://127.0.0.1/x/0', '--bogus'], /^error: unknown option '--bogus'\n$/],
    [['--qd', '0', '--path', 'iscsi://127.0.0.1/x/0'], /^tandem bench: --qd must be a whole number from 1 to 1024 \(got "0"\)\n$/],
    [[], /^tandem bench: give at least one --path/],
    [['--path', 'nfs://x'], /^tandem bench: --path: bad iSCSI URL/],
    [['--path', 'iscsi://127.0.0.1/x/0', '--qd'], /^error: option '--qd <n>' argument missing\n$/],
  ])('refuses bad flags %p with one line and exit 2', async (args, line) => {
    const r = await tandem(['bench', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(line);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('exits 1 when no path can be opened', async () => {
    const closed = await freePort();
    const r = await tandem(['bench', '--path', `iscsi://127.0.0.1:${closed}/${IQN}/0`, '--seconds', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tandem bench: no path could be opened: .*ECONNREFUSED/);
  });
});
