/**
 * `<dataDir>/stack.json`: the running stack's pid, its children's pids and its control socket. It claims the data
 * directory (a second stack on it refuses) and tells `tandem stack kill|restart` where the stack listens.
 */
import * as fs from 'fs';
import * as path from 'path';
import { StackConfigError } from './stackOptions';

export const STACK_STATE_FILE = 'stack.json';

/** What stack.json holds (fields past `state` once the stack is ready). */
export interface StackStateFile {
  pid: number;
  state: 'starting' | 'ready';
  startedAt?: string;
  /** The control socket `tandem stack kill|restart` talk to. */
  control?: string;
  nodes?: { name: string; pid: number | null; state: string }[];
  [more: string]: unknown;
}

export class StackStateFileOwner {
  private readonly file: string;
  private owned = false;

  constructor(private readonly dataDir: string) {
    this.file = path.join(dataDir, STACK_STATE_FILE);
  }

  /** One stack per data directory: the embedded database has a single opener, and the children share state dirs. */
  claim(): void {
    const previous = readStackState(this.dataDir);
    if (previous && previous.pid !== process.pid && stackProcessAlive(previous.pid)) {
      throw new StackConfigError(`another tandem stack (pid ${previous.pid}) is running on ${this.dataDir}; stop it first (Ctrl-C there, or kill ${previous.pid})`);
    }
    this.write({ pid: process.pid, state: 'starting', startedAt: new Date().toISOString() });
    this.owned = true;
  }

  write(state: StackStateFile): void {
    // Written whole and renamed: a reader (tandem stack kill) never sees half a file.
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  remove(): void {
    if (!this.owned) return;
    this.owned = false;
    fs.rmSync(this.file, { force: true });
  }
}

/** The state file of the stack on `dataDir`; undefined when there is none or it is unreadable. */
export function readStackState(dataDir: string): StackStateFile | undefined {
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, STACK_STATE_FILE), 'utf8')) as StackStateFile;
    return typeof state.pid === 'number' ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live tandem process (a stale stack.json's pid may since belong to anything). */
export function stackProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return /tandem/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true;
  }
}
