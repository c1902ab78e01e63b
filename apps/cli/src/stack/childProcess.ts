/**
 * A child of the stack (a node agent, the private nats-server): its output goes to a log file (and to the terminal
 * with --verbose), the last lines are kept for the report when it dies, and it runs in a process group of its
 * own, so Ctrl-C reaches only the stack, which stops the children in order.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  /** Echo output lines to the terminal, prefixed with the child's name. */
  echo: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const TAIL_LINES = 20;

export class StackChild {
  readonly name: string;
  private child: ChildProcess | null = null;
  private log: fs.WriteStream | null = null;
  private readonly tail: string[] = [];
  private expected = false;
  private exit: ChildExit | null = null;
  private exitWaiters: ((exit: ChildExit) => void)[] = [];
  /** Called once if the child ends while nobody asked it to stop. */
  onUnexpectedExit: (exit: ChildExit) => void = () => undefined;

  constructor(private readonly options: ChildOptions) {
    this.name = options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get exited(): ChildExit | null {
    return this.exit;
  }

  /** Spawns the child; rejects if it cannot be started at all (e.g. the binary is missing). */
  start(): Promise<void> {
    fs.mkdirSync(path.dirname(this.options.logFile), { recursive: true });
    const log = fs.createWriteStream(this.options.logFile, { flags: 'a' });
    // A log file that cannot be written (data dir removed, disk full) must not bring the stack down: say so once and
    // go on without it (the last lines stay in memory for the death report).
    log.on('error', (err) => {
      if (this.log === log) this.log = null;
      process.stderr.write(`${this.options.name}: cannot write its log ${this.options.logFile}: ${err.message}; going on without it\n`);
    });
    this.log = log;
    this.log.write(`--- ${new Date().toISOString()} ${this.options.command} ${this.options.args.join(' ')}\n`);
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.command, this.options.args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        // Log files want no colour codes (Nest colours unless NO_COLOR is set).
        env: { ...(this.options.env ?? process.env), NO_COLOR: '1' },
        cwd: this.options.cwd,
      });
      this.child = child;
      child.once('error', (err) => {
        if (this.exit) return;
        this.exit = { code: null, signal: null };
        this.release();
        reject(new Error(`cannot start ${this.options.command}: ${err.message}`));
      });
      child.once('spawn', () => resolve());
      for (const stream of [child.stdout!, child.stderr!]) {
        let partial = '';
        stream.setEncoding('utf8').on('data', (chunk: string) => {
          this.log?.write(chunk);
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) this.line(line);
        });
        stream.on('end', () => {
          if (partial) this.line(partial);
          partial = '';
        });
      }
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        // Let the pipes deliver their last lines before anyone reads the tail.
        setImmediate(() => {
          this.release();
          if (!this.expected) this.onUnexpectedExit(this.exit!);
        });
      });
    });
  }

  private line(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.options.echo) process.stdout.write(`${this.name} | ${line}\n`);
  }

  private release(): void {
    this.log?.end();
    this.log = null;
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const w of waiters) w(this.exit!);
  }

  /** The last lines the child wrote (for the report when it dies). */
  lastLines(): string[] {
    return [...this.tail];
  }

  logFile(): string {
    return this.options.logFile;
  }

  /** Resolves when the child has exited (at once if it has). */
  waitForExit(): Promise<ChildExit> {
    if (this.exit && !this.log) return Promise.resolve(this.exit);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Marks the end as expected: no unexpected-exit report follows. */
  expectExit(): void {
    this.expected = true;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once it is gone. `killed` tells whether SIGKILL was needed. */
  async stop(graceMs: number): Promise<ChildExit & { killed: boolean }> {
    this.expected = true;
    if (!this.child || this.exit) return { ...(this.exit ?? { code: null, signal: null }), killed: false };
    let killed = false;
    this.signal('SIGTERM');
    const timer = setTimeout(() => {
      killed = true;
      this.signal('SIGKILL');
    }, graceMs);
    const exit = await this.waitForExit();
    clearTimeout(timer);
    return { ...exit, killed };
  }

  /** SIGKILL without marking the end expected: it is reported and handled like any death (`tandem stack kill`). */
  killAsIfCrashed(): void {
    if (this.child && !this.exit) this.signal('SIGKILL');
  }

  /** Immediate SIGKILL (a second Ctrl-C, or the stack's own shutdown running out of time). */
  kill(): void {
    this.expected = true;
    if (this.child && !this.exit) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.child?.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** `exit code 2`, `signal SIGKILL`: for messages. */
export function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
