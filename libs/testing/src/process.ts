// Child processes with a deadline: every run() ends (killed on timeout), every long-lived child is tracked and killed.
import { spawn, ChildProcess, SpawnOptions } from 'child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Called with each stdout chunk, e.g. to stream progress of a long run. */
  onStdout?: (chunk: string) => void;
}

const live = new Set<ChildProcess>();

// Last resort if jest exits without running afterAll (e.g. a crash): no child outlives the test process.
process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function spawnTracked(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

export function run(cmd: string, args: string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawnTracked(cmd, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      options.onStdout?.(d);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (err) => {
      stderr += `\n${String(err)}`;
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
  });
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone (or was never running). */
export function stopChild(child: ChildProcess | undefined, graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child?.exitCode ?? null, signal: child?.signalCode ?? null, killed: false });
      return;
    }
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, killed });
    });
    child.kill('SIGTERM');
  });
}

export function describeResult(cmd: string, r: RunResult): string {
  return `${cmd} → code ${r.code} signal ${r.signal}${r.timedOut ? ' (TIMED OUT, killed)' : ''} after ${r.durationMs} ms\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}
