// CPU time of a process from /proc/PID/stat (utime + stime of all its threads): the parsing and the per-I/O arithmetic
// are pure (procCpu.test.ts); reading the file and the clock-tick rate are the only I/O.
import { readFileSync } from 'fs';
import { spawnSync } from 'child_process';

export interface CpuTicks {
  utime: number;
  stime: number;
}

/**
 * utime and stime (fields 14 and 15, in clock ticks) of one /proc/PID/stat line. The command name (field 2) is in
 * parentheses and may itself hold spaces and parentheses, so fields are counted after the last ')'.
 */
export function parseProcStat(text: string): CpuTicks {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/PID/stat line (no "(comm)"): "${text.slice(0, 80)}"`);
  // After ") ": field 3 (state) is index 0, so field n is index n - 3.
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number): number => {
    const raw = fields[n - 3];
    if (raw === undefined || !/^\d+$/.test(raw)) throw new Error(`/proc/PID/stat field ${n} is "${raw ?? '(missing)'}", not a tick count`);
    return Number(raw);
  };
  return { utime: field(14), stime: field(15) };
}

export interface CpuPerIo {
  /** CPU seconds (user + system) the process spent between the two samples. */
  cpuSeconds: number;
  /** Microseconds of CPU per I/O. */
  cpuUsPerIo: number;
  /** I/Os per CPU-second: 10^6 ÷ cpuUsPerIo (Infinity when no CPU tick was counted). */
  iopsPerCpuSecond: number;
}

/** CPU cost of `ios` I/Os from two samples of the same process. */
export function cpuPerIo(before: CpuTicks, after: CpuTicks, ios: number, ticksPerSecond: number): CpuPerIo {
  if (!(ticksPerSecond > 0)) throw new Error(`clock ticks per second must be positive (got ${ticksPerSecond})`);
  if (!(ios > 0)) throw new Error(`the I/O count must be positive (got ${ios})`);
  const ticks = after.utime + after.stime - (before.utime + before.stime);
  if (ticks < 0) throw new Error('the CPU sample after is below the one before: not the same process');
  const cpuSeconds = ticks / ticksPerSecond;
  return { cpuSeconds, cpuUsPerIo: (cpuSeconds / ios) * 1e6, iopsPerCpuSecond: cpuSeconds > 0 ? ios / cpuSeconds : Infinity };
}

/** The sum of several samples' deltas, for a case run in rounds: [before, after] pairs of one process. */
export function sumTicks(pairs: [CpuTicks, CpuTicks][]): [CpuTicks, CpuTicks] {
  const zero = { utime: 0, stime: 0 };
  const after = pairs.reduce((s, [b, a]) => ({ utime: s.utime + a.utime - b.utime, stime: s.stime + a.stime - b.stime }), zero);
  return [zero, after];
}

let ticksPerSecondCache: number | undefined;
/** The kernel's clock-tick rate (USER_HZ, `getconf CLK_TCK`), in which /proc/PID/stat counts CPU time. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecondCache === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number((r.stdout ?? '').trim());
    if (r.status !== 0 || !Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK failed: ${r.stderr || r.error || r.stdout}`);
    ticksPerSecondCache = n;
  }
  return ticksPerSecondCache;
}

/** One sample of a running process's CPU ticks. */
export function sampleCpu(pid: number): CpuTicks {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}
