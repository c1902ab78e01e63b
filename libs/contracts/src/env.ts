/**
 * Environment-variable parsing shared by every service: zod field types for the shapes Tandem's variables take
 * (whole numbers, durations, byte sizes, HOST:PORT, 0/1 flags), one parse that names the variable, its value and what
 * is expected, and the list of every TANDEM_* variable so a service can warn about a misspelt one.
 */
import { z } from 'zod';

/** A bad variable: its message is one line per bad variable, e.g. `TANDEM_GATEWAY_MAX_DEPTH="8x" must be a positive integer`. */
export class EnvConfigError extends Error {
  override readonly name = 'EnvConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Unset and empty are the same thing: `FOO= cmd` means "no value", as with every other Unix tool. */
const unset = (v: unknown): v is undefined => v === undefined || v === '';

/**
 * A variable with a text parser: `parse` returns the value or throws an Error whose message says what is expected
 * ("must be …"). Unset or empty → `fallback` (which may be undefined: the variable is optional).
 */
export function envVar<T>(parse: (text: string) => T): z.ZodType<T | undefined, z.ZodTypeDef, string | undefined>;
export function envVar<T>(parse: (text: string) => T, fallback: T): z.ZodType<T, z.ZodTypeDef, string | undefined>;
export function envVar<T>(parse: (text: string) => T, ...fallback: [T?]): z.ZodType<T | undefined, z.ZodTypeDef, string | undefined> {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (unset(text)) return fallback[0];
      try {
        return parse(text.trim());
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        return z.NEVER;
      }
    });
}

/** A whole number in [min, max]. */
export function parseWholeNumber(text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^[+]?\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  if (min === 1 && max === Number.MAX_SAFE_INTEGER) throw new Error('must be a positive integer');
  if (max === Number.MAX_SAFE_INTEGER) throw new Error(`must be a whole number ≥ ${min}`);
  throw new Error(`must be a whole number from ${min} to ${max}`);
}

/** A decimal number in [min, max] (`1.5`, `0`). */
export function parseDecimal(text: string, min: number, max = Number.MAX_VALUE): number {
  const n = /^[+]?(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (Number.isFinite(n) && n >= min && n <= max) return n;
  throw new Error(max === Number.MAX_VALUE ? `must be a number ≥ ${min}` : `must be a number from ${min} to ${max}`);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const formatMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/**
 * `250ms`, `5s`, `1.5s`, `2m`, `1h`; a bare number is in `bareUnit` (the unit the variable's name promises, e.g.
 * milliseconds for `…_MS`). Returns whole milliseconds in [minMs, maxMs].
 */
export function parseDurationMs(text: string, opts: { bareUnit: 'ms' | 's'; minMs?: number; maxMs?: number }): number {
  const { bareUnit, minMs = 0, maxMs = 24 * 3_600_000 } = opts;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text);
  const ms = m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? bareUnit]) : NaN;
  if (Number.isFinite(ms) && ms >= minMs && ms <= maxMs) return ms;
  throw new Error(`must be a duration from ${formatMs(minMs)} to ${formatMs(maxMs)}, such as 5s or 2500ms (a bare number is in ${bareUnit === 'ms' ? 'milliseconds' : 'seconds'})`);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };

/** `1073741824`, `512MiB`, `10GiB`, `1.5TiB` (binary units; `k`/`m`/`g`/`t` mean the same) → bytes, at least 1. */
export function parseByteSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (Number.isSafeInteger(bytes) && bytes >= 1) return bytes;
  throw new Error('must be a size in bytes, such as 1073741824, 512MiB or 10GiB');
}

export interface HostPort {
  host: string;
  port: number;
}

/** `127.0.0.1:4000`, `[::1]:4000`, `0.0.0.0:4000`, `node-a.lan:3261` → host (without brackets) and port (0–65535). */
export function parseHostPort(text: string, example = '127.0.0.1:4000'): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (m && port <= 65535) return { host: m[1] ?? m[2], port };
  throw new Error(`must be HOST:PORT, such as ${example} or [::1]:${example.split(':').pop()}`);
}

/** A TCP/UDP port, 1–65535 (0 too when `allowZero`: any free port). */
export function parsePort(text: string, allowZero = false): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (n <= 65535 && (n >= 1 || (allowZero && n === 0))) return n;
  throw new Error(`must be a port from 1 to 65535${allowZero ? ' (or 0 for any free port)' : ''}`);
}

/** `1`/`true`/`yes`/`on` → true, `0`/`false`/`no`/`off` → false. */
export function parseFlag(text: string): boolean {
  const t = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  throw new Error('must be 1 or 0');
}

/** One of a fixed set of words. */
export function parseOneOf<T extends string>(words: readonly T[]): (text: string) => T {
  return (text) => {
    if ((words as readonly string[]).includes(text)) return text as T;
    throw new Error(`must be one of ${words.join(', ')}`);
  };
}

/** Field types for service schemas. */
export const env = {
  string: (fallback: string) => envVar((t) => t, fallback),
  optionalString: () => envVar((t) => t),
  wholeNumber: (fallback: number, min = 0, max?: number) => envVar((t) => parseWholeNumber(t, min, max), fallback),
  positiveInt: (fallback: number) => envVar((t) => parseWholeNumber(t, 1), fallback),
  decimal: (fallback: number, min: number, max?: number) => envVar((t) => parseDecimal(t, min, max), fallback),
  durationMs: (fallback: number, opts: { bareUnit: 'ms' | 's'; minMs?: number; maxMs?: number }) => envVar((t) => parseDurationMs(t, opts), fallback),
  byteSize: () => envVar(parseByteSize),
  port: (fallback: number, allowZero = false) => envVar((t) => parsePort(t, allowZero), fallback),
  hostPort: (fallback: string) => envVar(parseHostPort, parseHostPort(fallback)),
  flag: (fallback: boolean) => envVar(parseFlag, fallback),
  oneOf: <T extends string>(words: readonly T[], fallback: T) => envVar(parseOneOf(words), fallback),
};

/** pino's levels, for TANDEM_LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Parses `source` with a schema whose keys are variable names. Every bad variable is reported at once:
 * `NAME="value" must be …`, one per line. `label` names a variable in messages (e.g. by the command-line flag that set it).
 */
export function parseEnv<S extends z.ZodRawShape>(shape: S, source: NodeJS.ProcessEnv, label: (name: string) => string = (name) => name): z.output<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '');
    const value = source[name];
    return `${label(name)}=${JSON.stringify(value ?? '')} ${issue.message}`;
  });
  throw new EnvConfigError(problems);
}

/**
 * Every TANDEM_* variable some part of Tandem reads (services, `tandem stack`, the CLI, the storage engine, the test
 * kit). An environment file may configure several services at once, so each service warns only about names none of
 * them knows. `TANDEM_TEST_*` belong to the test suites and are never reported.
 */
export const KNOWN_TANDEM_VARIABLES: readonly string[] = [
  // orchestrator (and the gateway, which shares its database and NATS settings)
  'TANDEM_DATA_DIR',
  'TANDEM_DB_SCHEMA',
  'TANDEM_SUBJECT_PREFIX',
  'TANDEM_EVENTS_STREAM',
  'TANDEM_DUPLICATE_WINDOW_MS',
  'TANDEM_AGENT_REPORTS_STREAM',
  'TANDEM_AGENT_REQUEST_TIMEOUT_MS',
  'TANDEM_NODE_LOST_AFTER',
  'TANDEM_ORCHESTRATOR_HTTP',
  'TANDEM_READY_MAX_LAG_EVENTS',
  // gateway
  'TANDEM_API_TOKEN',
  'TANDEM_GATEWAY_LISTEN',
  'TANDEM_GATEWAY_READS_REQUIRE_TOKEN',
  'TANDEM_GATEWAY_COMMAND_TIMEOUT_MS',
  'TANDEM_GATEWAY_MAX_DEPTH',
  'TANDEM_GATEWAY_MAX_COMPLEXITY',
  'TANDEM_CONSOLE_DIR',
  // node agent
  'TANDEM_NODE_CONFIG',
  'TANDEM_NODE_HTTP',
  'TANDEM_NODE_STATE_DIR',
  'TANDEM_NODE_IMAGE_DIR',
  'TANDEM_NODE_NAME',
  'TANDEM_NODE_CAPACITY_BYTES',
  'TANDEM_NODE_SPACE_WARN_PERCENT',
  'TANDEM_NODE_CACHE_MIB',
  'TANDEM_NODE_RESYNC_MIB_PER_SECOND',
  'TANDEM_NODE_ADVERTISE',
  'TANDEM_RESYNC_PROGRESS_REPORT_MS',
  'TANDEM_TELEMETRY_INTERVAL_MS',
  'TANDEM_TARGET_IQN_PREFIX',
  'TANDEM_BUILD',
  'TANDEM_LOG_LEVEL',
  // tandem stack and the CLI
  'TANDEM_STACK_NATS_PORT',
  'TANDEM_STACK_ISCSI_PORT',
  'TANDEM_STACK_HTTP_PORT',
  'TANDEM_STACK_SYNC_PORT',
  'TANDEM_STACK_HEARTBEAT_PORT',
  'TANDEM_STACK_NODES',
  'TANDEM_STACK_REGISTRATION_TIMEOUT',
  'TANDEM_STACK_VERBOSE',
  'TANDEM_STACK_NO_RESTART',
  'TANDEM_STACK_RESTART_ROUNDS',
  'TANDEM_NATS_SERVER',
  'TANDEM_API_URL',
  'TANDEM_BIN',
  // storage engine and tooling
  'TANDEM_IO_INLINE',
  'TANDEM_WRITE_SCHEMA',
  // test and benchmark tooling outside TANDEM_TEST_*
  'TANDEM_CONSOLE_SCREENSHOTS',
  'TANDEM_GUEST_CACHE',
  'TANDEM_GUEST_MIRROR',
  'TANDEM_IQN',
  'TANDEM_LSFS_CRASH_ITERATIONS',
];

/** TANDEM_* names in `source` that no part of Tandem reads (likely typos), sorted. */
export function unknownTandemVariables(source: NodeJS.ProcessEnv, known: readonly string[] = KNOWN_TANDEM_VARIABLES): string[] {
  const names = new Set(known);
  return Object.keys(source)
    .filter((k) => k.startsWith('TANDEM_') && !k.startsWith('TANDEM_TEST_') && !names.has(k))
    .sort();
}

/** The one-line warning a service prints once at start, or undefined when every TANDEM_* name is known. */
export function unknownTandemVariablesWarning(service: string, source: NodeJS.ProcessEnv): string | undefined {
  const unknown = unknownTandemVariables(source);
  if (unknown.length === 0) return undefined;
  return `${service}: warning: ignoring unknown environment variable${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (a typo? see docs/operations.md, "Environment variables")`;
}
