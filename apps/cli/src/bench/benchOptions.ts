/** What `tandem bench` runs, from its flags. Pure (no I/O), so every rule is unit-tested. */
import {
  DigestOffer, IscsiUrl, IscsiUrlError, PATH_POLICIES, PathPolicy, WORKLOAD_PATTERNS, WorkloadPattern, parseDigestOffer, parseIscsiUrl,
} from '@tandem/initiator';

/** Bad flags: bench prints this one line and exits 2, having connected to nothing. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

export interface BenchFlags {
  path?: string[];
  policy?: string;
  rw?: string;
  rwmixread?: string;
  bs?: string;
  qd?: string;
  seconds?: string;
  span?: string;
  headerDigest?: string;
  dataDigest?: string;
  initiatorName?: string;
  commandTimeout?: string;
  ioDeadline?: string;
  json?: boolean;
  progress?: boolean;
}

export interface BenchOptions {
  paths: IscsiUrl[];
  /** As given, for the report (secrets stay out of it: see describeIscsiUrl). */
  policy: PathPolicy;
  pattern: BenchPattern;
  /** randrw only: share of I/Os that read, 0–100. */
  readPercent?: number;
  blockSize: number;
  queueDepth: number;
  durationMs: number;
  spanBytes?: number;
  headerDigest: DigestOffer;
  dataDigest: DigestOffer;
  initiatorName?: string;
  commandTimeoutMs: number;
  ioDeadlineMs: number;
  json: boolean;
  progress: boolean;
}

/** The initiator's patterns plus randrw, the random read/write mix (mixedWorkload.ts). */
export type BenchPattern = WorkloadPattern | 'randrw';
export const BENCH_PATTERNS: readonly BenchPattern[] = [...WORKLOAD_PATTERNS, 'randrw'];

export const BENCH_DEFAULTS = {
  policy: 'rr',
  rw: 'randread',
  rwmixread: 50,
  bs: '4k',
  qd: 32,
  seconds: 10,
  commandTimeoutSeconds: 10,
  ioDeadlineSeconds: 30,
} as const;

const POLICY_NAMES: Record<string, PathPolicy> = {
  rr: 'round-robin',
  'round-robin': 'round-robin',
  failover: 'failover',
  lqd: 'least-queue-depth',
  'least-queue-depth': 'least-queue-depth',
};

/** fio-style sizes: 4k = 4096, 1m = 1 MiB; KiB/MiB/GiB spelled out too; plain numbers are bytes. */
export function parseBlockSize(text: string, what: string): number {
  const m = /^(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)$/i.exec(text.trim());
  if (!m) throw new BenchUsageError(`${what} "${text}" is not a size (examples: 4k, 64k, 1m, 512)`);
  const unit = m[2].toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  const bytes = Number(m[1]) * scale;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new BenchUsageError(`${what} "${text}" must be positive`);
  return bytes;
}

function integer(text: string | number, what: string, min: number, max: number): number {
  const n = typeof text === 'number' ? text : /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new BenchUsageError(`${what} must be a whole number from ${min} to ${max} (got "${text}")`);
  return n;
}

function seconds(text: string | number, what: string, max: number): number {
  const n = typeof text === 'number' ? text : /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new BenchUsageError(`${what} must be a number of seconds above 0 and at most ${max} (got "${text}")`);
  return Math.round(n * 1000);
}

function digest(text: string | undefined, what: string): DigestOffer {
  if (text === undefined) return 'None';
  return parseDigestOffer(text) ?? (() => {
    throw new BenchUsageError(`${what} must be none, crc32c, crc32c-none or none-crc32c (got "${text}")`);
  })();
}

export function benchOptionsFrom(flags: BenchFlags): BenchOptions {
  const urls = flags.path ?? [];
  if (urls.length === 0) throw new BenchUsageError('give at least one --path iscsi://host[:port]/target-iqn/lun');
  const paths = urls.map((u) => {
    try {
      return parseIscsiUrl(u);
    } catch (err) {
      if (err instanceof IscsiUrlError) throw new BenchUsageError(`--path: ${err.message}`);
      throw err;
    }
  });
  const policy = POLICY_NAMES[(flags.policy ?? BENCH_DEFAULTS.policy).toLowerCase()];
  if (!policy) throw new BenchUsageError(`--policy must be rr, failover or lqd (got "${flags.policy}")`);
  const rw = (flags.rw ?? BENCH_DEFAULTS.rw).toLowerCase();
  if (!(BENCH_PATTERNS as readonly string[]).includes(rw)) throw new BenchUsageError(`--rw must be ${BENCH_PATTERNS.join(', ')} (got "${flags.rw}")`);
  if (flags.rwmixread !== undefined && rw !== 'randrw') throw new BenchUsageError('--rwmixread goes with --rw randrw only');
  const blockSize = parseBlockSize(flags.bs ?? BENCH_DEFAULTS.bs, '--bs');
  if (blockSize % 512 !== 0 || blockSize > 16 * 1024 * 1024) throw new BenchUsageError(`--bs must be a multiple of 512 bytes and at most 16m (got "${flags.bs}")`);
  const options: BenchOptions = {
    paths,
    policy,
    pattern: rw as BenchPattern,
    blockSize,
    queueDepth: integer(flags.qd ?? BENCH_DEFAULTS.qd, '--qd', 1, 1024),
    durationMs: seconds(flags.seconds ?? BENCH_DEFAULTS.seconds, '--seconds', 86400),
    headerDigest: digest(flags.headerDigest, '--header-digest'),
    dataDigest: digest(flags.dataDigest, '--data-digest'),
    initiatorName: flags.initiatorName,
    commandTimeoutMs: seconds(flags.commandTimeout ?? BENCH_DEFAULTS.commandTimeoutSeconds, '--command-timeout', 3600),
    ioDeadlineMs: seconds(flags.ioDeadline ?? BENCH_DEFAULTS.ioDeadlineSeconds, '--io-deadline', 3600),
    json: flags.json === true,
    progress: flags.progress !== false,
  };
  if (rw === 'randrw') options.readPercent = integer(flags.rwmixread ?? BENCH_DEFAULTS.rwmixread, '--rwmixread', 0, 100);
  if (flags.span !== undefined) options.spanBytes = parseBlockSize(flags.span, '--span');
  if (options.spanBytes !== undefined && options.spanBytes < blockSize) throw new BenchUsageError('--span must be at least one --bs');
  if (initiatorNameInvalid(options.initiatorName)) throw new BenchUsageError(`--initiator-name must be an iqn. or eui. name (got "${options.initiatorName}")`);
  // Policies are checked once more by MultipathDevice; this keeps the list in one place for the message.
  void PATH_POLICIES;
  return options;
}

function initiatorNameInvalid(name: string | undefined): boolean {
  return name !== undefined && !/^(iqn\.\d{4}-\d{2}\.[^\s]+|eui\.[0-9a-fA-F]{16}|naa\.[0-9a-fA-F]{16,32})$/.test(name);
}
