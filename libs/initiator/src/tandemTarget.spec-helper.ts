// Test support: the real Tandem target as a child process (`tandem serve`, or a scripted TargetHost whose ALUA
// states the test changes live) and temporary directories. Free ports, bounded polling and child tracking (every
// child killed when the test process exits, whatever happened) come from @tandem/testing.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT, TANDEM_BIN, stopChild, track } from '@tandem/testing';

export const HOST = '127.0.0.1';
export const MiB = 1024 * 1024;

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-initiator-'));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ChildTarget {
  pid: number;
  log(): string;
  /** One line to the child's stdin, resolving with its next stdout line that starts with "ok" or "error". */
  command(line: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

function isReady(line: string): boolean {
  try {
    return (JSON.parse(line) as { msg?: string }).msg === 'ready';
  } catch {
    return line.trim() === 'ready';
  }
}

function startChild(args: string[], readyTimeoutMs: number, cwd: string): Promise<ChildTarget> {
  const child = track(spawn(process.execPath, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } }));
  let text = '';
  let partial = '';
  const lineListeners = new Set<(line: string) => void>();
  const feed = (chunk: string, stdout: boolean) => {
    text = (text + chunk).slice(-65536);
    if (!stdout) return;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) for (const fn of [...lineListeners]) fn(line);
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => feed(d, true));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => feed(d, false));
  const handle: ChildTarget = {
    pid: child.pid ?? -1,
    log: () => text,
    command(line: string, timeoutMs = 5000): Promise<string> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          lineListeners.delete(onLine);
          reject(new Error(`no answer to "${line}" within ${timeoutMs} ms\n${text}`));
        }, timeoutMs);
        const onLine = (l: string) => {
          if (!/^(ok|error)\b/.test(l)) return;
          clearTimeout(timer);
          lineListeners.delete(onLine);
          if (l.startsWith('ok')) resolve(l);
          else reject(new Error(l));
        };
        lineListeners.add(onLine);
        child.stdin!.write(`${line}\n`);
      });
    },
    async stop(): Promise<void> {
      await stopChild(child, 6000);
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`target did not become ready within ${readyTimeoutMs} ms\nnode ${args.join(' ')}\n${text}`));
    }, readyTimeoutMs);
    const onLine = (line: string) => {
      if (!isReady(line)) return;
      clearTimeout(timer);
      lineListeners.delete(onLine);
      resolve(handle);
    };
    lineListeners.add(onLine);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`target exited (code ${code}, signal ${signal}) before ready\nnode ${args.join(' ')}\n${text}`));
    });
  });
}

/** `tandem serve <args>` (the CLI must be built: `npx tsc -b`). */
export function startTandemServe(args: string[], cwd: string, readyTimeoutMs = 20000): Promise<ChildTarget> {
  if (!fs.existsSync(path.join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js'))) {
    throw new Error('the tandem CLI is not built: run `npx tsc -b` first');
  }
  return startChild([TANDEM_BIN, 'serve', ...args], readyTimeoutMs, cwd);
}

/**
 * A TargetHost (the same code `tandem serve` runs) from a HostConfig, whose stdin takes
 * "alua <target> <lun> <portGroup> <state>" lines and answers "ok <changed>" — for live ALUA changes.
 */
export function startScriptedTarget(config: object, cwd: string, readyTimeoutMs = 20000): Promise<ChildTarget> {
  const script = `
    const { TargetHost } = require(${JSON.stringify(path.join(REPO_ROOT, 'libs', 'target-host', 'dist', 'index.js'))});
    const quiet = { debug() {}, info() {}, warn() {}, error(o, m) { process.stderr.write(JSON.stringify({ ...o, msg: m }) + '\\n'); } };
    quiet.child = () => quiet;
    TargetHost.start(JSON.parse(process.argv[1]), quiet).then((host) => {
      process.stdout.write('ready\\n');
      require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
        const [verb, target, lun, group, state] = line.trim().split(/\\s+/);
        try {
          if (verb !== 'alua') throw new Error('unknown verb ' + verb);
          process.stdout.write('ok ' + host.setAluaState(target, Number(lun), Number(group), state) + '\\n');
        } catch (err) {
          process.stdout.write('error ' + err.message + '\\n');
        }
      });
      process.on('SIGTERM', () => host.stop(1000).then(() => process.exit(0), () => process.exit(1)));
    }, (err) => { process.stderr.write(String(err && err.stack || err) + '\\n'); process.exit(1); });
  `;
  return startChild(['-e', script, JSON.stringify(config)], readyTimeoutMs, cwd);
}
