/** The figures `tandem bench` prints: text for people, JSON for scripts. Pure. */
import type { PathStatus, WorkloadResult } from '@tandem/initiator';
import type { BenchOptions } from './benchOptions';

export interface PathCounts {
  url: string;
  state: string;
  access: string;
  /** During the run only (open's INQUIRY and the like are not counted). */
  commands: number;
  bytes: number;
  errors: number;
  failovers: number;
  reconnects: number;
}

export interface BenchReport {
  pattern: string;
  blockSize: number;
  queueDepth: number;
  policy: string;
  seconds: number;
  ios: number;
  iops: number;
  /** Megabytes (10^6 bytes) per second, as fio and iscsi-perf print them. */
  mbPerSecond: number;
  errors: number;
  error?: string;
  latencyUs: { p50: number; p99: number; p999: number; mean: number; max: number };
  /** randrw only: the read share asked for and the reads and writes done. */
  mix?: { readPercent: number; reads: number; writes: number };
  paths: PathCounts[];
}

/** Per-path counters of the run: `after` minus `before`, matched by index. */
export function pathDeltas(before: PathStatus[], after: PathStatus[]): PathCounts[] {
  return after.map((a) => {
    const b = before.find((x) => x.index === a.index);
    return {
      url: a.url,
      state: a.state,
      access: a.access,
      commands: a.commands - (b?.commands ?? 0),
      bytes: a.bytesRead + a.bytesWritten - (b ? b.bytesRead + b.bytesWritten : 0),
      errors: a.errors - (b?.errors ?? 0),
      failovers: a.failovers - (b?.failovers ?? 0),
      reconnects: a.reconnects - (b?.reconnects ?? 0),
    };
  });
}

export function buildReport(options: BenchOptions, result: WorkloadResult & { reads?: number; writes?: number }, paths: PathCounts[]): BenchReport {
  const l = result.latency;
  const round = (n: number) => Math.round(n);
  return {
    pattern: options.pattern,
    blockSize: options.blockSize,
    queueDepth: options.queueDepth,
    policy: options.policy,
    seconds: Math.round(result.elapsedMs) / 1000,
    ios: result.ios,
    iops: Math.round(result.iops),
    mbPerSecond: Math.round(result.bandwidth / 1e4) / 100,
    errors: result.errors,
    ...(result.error ? { error: result.error.message } : {}),
    latencyUs: { p50: round(l.percentile(50)), p99: round(l.percentile(99)), p999: round(l.percentile(99.9)), mean: round(l.mean), max: round(l.max) },
    ...(options.readPercent !== undefined ? { mix: { readPercent: options.readPercent, reads: result.reads ?? 0, writes: result.writes ?? 0 } } : {}),
    paths,
  };
}

export function formatSizeShort(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes}B`;
}

export function formatReport(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(`${r.pattern} ${formatSizeShort(r.blockSize)} qd ${r.queueDepth}, ${r.policy}, ${r.seconds.toFixed(2)} s: ${r.ios} I/Os, ${r.errors} errors`);
  lines.push(`IOPS        ${r.iops}`);
  lines.push(`MB/s        ${r.mbPerSecond.toFixed(2)}`);
  lines.push(`latency µs  p50 ${r.latencyUs.p50}  p99 ${r.latencyUs.p99}  p99.9 ${r.latencyUs.p999}  (mean ${r.latencyUs.mean}, max ${r.latencyUs.max})`);
  if (r.mix) {
    const done = r.mix.reads + r.mix.writes;
    const share = done > 0 ? ((100 * r.mix.reads) / done).toFixed(1) : '-';
    lines.push(`mix         ${r.mix.reads} reads, ${r.mix.writes} writes (${share}% reads; asked ${r.mix.readPercent}%)`);
  }
  if (r.error) lines.push(`stopped by  ${r.error}`);
  const total = r.paths.reduce((s, p) => s + p.commands, 0);
  const urlWidth = Math.max(4, ...r.paths.map((p) => p.url.length));
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(urlWidth) : i === 1 || i === 2 ? c.padEnd(i === 1 ? 10 : 21) : c.padStart(9))).join('  ').trimEnd();
  lines.push(row(['path', 'state', 'access', 'commands', 'share', 'errors', 'failovers', 'reconnects']));
  for (const p of r.paths) {
    const share = total > 0 ? `${((100 * p.commands) / total).toFixed(1)}%` : '-';
    lines.push(row([p.url, p.state, p.access, String(p.commands), share, String(p.errors), String(p.failovers), String(p.reconnects)]));
  }
  return lines.join('\n');
}
