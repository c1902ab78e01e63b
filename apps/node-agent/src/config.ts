/** Node agent settings from argv and the environment: config and state paths, health/metrics, NATS, advertised addresses. */
import * as path from 'path';
import { AGENT_REPORTS_STREAM, env, EnvConfigError, envVar, LOG_LEVELS, parseEnv } from '@tandem/contracts';
import { isWildcardHost } from './registration/advertisedAddresses';

export const NODE_AGENT_SETTINGS = Symbol('NODE_AGENT_SETTINGS');

export interface NodeAgentSettings {
  /** JSON file with portals, targets and LUNs (the HostConfig schema); rewritten atomically on every live change. */
  configPath: string;
  /** Health and Prometheus metrics, default 127.0.0.1:3261. */
  httpHost: string;
  httpPort: number;
  /** `node-id`, the outbox and the command replies live here; default: beside the config file. */
  stateDir: string;
  /** Where images of devices created by the orchestrator go; default `<stateDir>/devices`. */
  imageDir: string;
  /** `nats://127.0.0.1:4222` by default; null runs the node without a control plane. */
  natsUrl: string | null;
  /** Prepended (with a dot) to every subject, as the orchestrator's `TANDEM_SUBJECT_PREFIX`; empty in production. */
  subjectPrefix: string;
  /** JetStream stream the outbox forwarder publishes reports to. */
  reportsStream: string;
  /** Display name registered with the orchestrator; default: the host name. */
  nodeName?: string;
  /**
   * Hosts registered in place of a wildcard listen address (0.0.0.0, ::) for portals, sync and heartbeat
   * (`TANDEM_NODE_ADVERTISE` / `--advertise`); unset: the host's non-loopback interface addresses (see advertisedAddresses).
   */
  advertise?: string[];
  build: string;
  /** Bytes offered to device replicas; default: the size of the file system under `imageDir`. */
  capacityBytes?: number;
  /** IQN prefix of per-device targets: `<prefix>:<deviceId>`. */
  targetIqnPrefix: string;
  telemetryIntervalMs: number;
  /**
   * Health turns `degraded` when the file system under `imageDir` has less than this share free (percent): thin
   * images grow as they are written, and a full file system fails writes. Default 10.
   */
  spaceWarnPercent: number;
  /** RAM cache per device whose cache mode is write-back or write-through (default 256 MiB). */
  cacheBytesPerDevice: number;
  /** Resync copy rate limit given to HA replicas created here, so a resync leaves the hosts' I/O room; 0: unlimited. */
  resyncBytesPerSecond: number;
  /** Resync progress is reported to the control plane at most this often per device (default 5 s). */
  resyncProgressReportMs: number;
  /** pino level of the data-plane log (`TANDEM_LOG_LEVEL`, default info). */
  logLevel?: (typeof LOG_LEVELS)[number];
}

/**
 * Every variable the agent reads, with its default. A command-line flag (FLAGS) takes the place of its variable and
 * is checked by the same rule; a bad value is reported as `--flag="value" must be …` or `NAME="value" must be …`.
 */
export const nodeAgentEnvSchema = {
  TANDEM_NODE_CONFIG: env.optionalString(),
  TANDEM_NODE_HTTP: env.hostPort('127.0.0.1:3261'),
  TANDEM_NODE_STATE_DIR: env.optionalString(),
  TANDEM_NODE_IMAGE_DIR: env.optionalString(),
  NATS_URL: env.string('nats://127.0.0.1:4222'),
  TANDEM_SUBJECT_PREFIX: env.string(''),
  TANDEM_AGENT_REPORTS_STREAM: env.string(AGENT_REPORTS_STREAM),
  TANDEM_NODE_NAME: env.optionalString(),
  TANDEM_NODE_ADVERTISE: envVar(parseAdvertise),
  TANDEM_BUILD: env.string('dev'),
  TANDEM_NODE_CAPACITY_BYTES: env.byteSize(),
  TANDEM_TARGET_IQN_PREFIX: env.string('iqn.2026-11.io.tandem'),
  TANDEM_TELEMETRY_INTERVAL_MS: env.durationMs(1000, { bareUnit: 'ms', minMs: 50, maxMs: 3_600_000 }),
  TANDEM_NODE_SPACE_WARN_PERCENT: env.decimal(10, 0, 99),
  TANDEM_NODE_CACHE_MIB: env.positiveInt(256),
  TANDEM_NODE_RESYNC_MIB_PER_SECOND: env.decimal(0, 0),
  TANDEM_RESYNC_PROGRESS_REPORT_MS: env.durationMs(5000, { bareUnit: 'ms', minMs: 100, maxMs: 3_600_000 }),
  TANDEM_LOG_LEVEL: env.oneOf(LOG_LEVELS, 'info'),
};

/** Command-line flags and the variable each stands for. */
export const NODE_AGENT_FLAGS: Record<string, keyof typeof nodeAgentEnvSchema> = {
  '--config': 'TANDEM_NODE_CONFIG',
  '--http': 'TANDEM_NODE_HTTP',
  '--state-dir': 'TANDEM_NODE_STATE_DIR',
  '--image-dir': 'TANDEM_NODE_IMAGE_DIR',
  '--nats': 'NATS_URL',
  '--name': 'TANDEM_NODE_NAME',
  '--advertise': 'TANDEM_NODE_ADVERTISE',
  '--capacity': 'TANDEM_NODE_CAPACITY_BYTES',
  '--telemetry-interval-ms': 'TANDEM_TELEMETRY_INTERVAL_MS',
  '--space-warn-percent': 'TANDEM_NODE_SPACE_WARN_PERCENT',
  '--cache-mib': 'TANDEM_NODE_CACHE_MIB',
  '--resync-mib-per-second': 'TANDEM_NODE_RESYNC_MIB_PER_SECOND',
};

/** `10.0.0.5,10.0.1.5` or `storage-a.lan`: the hosts partners and initiators dial; never a wildcard. */
function parseAdvertise(text: string): string[] {
  const hosts = text.split(',').map((h) => h.trim().replace(/^\[(.*)\]$/, '$1'));
  const bad = hosts.find((h) => !/^[A-Za-z0-9.:_-]{1,253}$/.test(h) || isWildcardHost(h));
  if (bad !== undefined || hosts.length > 16) throw new Error('must be 1 to 16 comma-separated addresses or host names that partners can dial (not 0.0.0.0 or ::)');
  return [...new Set(hosts)];
}

/** Throws EnvConfigError naming every bad variable or flag. */
export function settingsFromArgv(argv: string[], source: NodeJS.ProcessEnv, overrides: Partial<NodeAgentSettings> = {}): NodeAgentSettings {
  const merged: NodeJS.ProcessEnv = { ...source };
  const fromFlag = new Map<string, string>();
  for (const [flag, name] of Object.entries(NODE_AGENT_FLAGS)) {
    const i = argv.indexOf(flag);
    if (i < 0) continue;
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new EnvConfigError([`${flag} needs a value`]);
    merged[name] = value;
    fromFlag.set(name, flag);
  }
  const e = parseEnv(nodeAgentEnvSchema, merged, (name) => fromFlag.get(name) ?? name);
  if (!e.TANDEM_NODE_CONFIG) throw new EnvConfigError(['node-agent needs --config FILE (or TANDEM_NODE_CONFIG)']);
  const configPath = path.resolve(e.TANDEM_NODE_CONFIG);
  const stateDir = path.resolve(e.TANDEM_NODE_STATE_DIR ?? path.dirname(configPath));
  return {
    configPath,
    httpHost: e.TANDEM_NODE_HTTP.host,
    httpPort: e.TANDEM_NODE_HTTP.port,
    stateDir,
    imageDir: path.resolve(e.TANDEM_NODE_IMAGE_DIR ?? path.join(stateDir, 'devices')),
    natsUrl: e.NATS_URL === 'none' ? null : e.NATS_URL,
    subjectPrefix: e.TANDEM_SUBJECT_PREFIX,
    reportsStream: e.TANDEM_AGENT_REPORTS_STREAM,
    nodeName: e.TANDEM_NODE_NAME,
    advertise: e.TANDEM_NODE_ADVERTISE,
    build: e.TANDEM_BUILD,
    capacityBytes: e.TANDEM_NODE_CAPACITY_BYTES,
    targetIqnPrefix: e.TANDEM_TARGET_IQN_PREFIX,
    telemetryIntervalMs: e.TANDEM_TELEMETRY_INTERVAL_MS,
    spaceWarnPercent: e.TANDEM_NODE_SPACE_WARN_PERCENT,
    cacheBytesPerDevice: e.TANDEM_NODE_CACHE_MIB * 1024 * 1024,
    resyncBytesPerSecond: Math.round(e.TANDEM_NODE_RESYNC_MIB_PER_SECOND * 1024 * 1024),
    resyncProgressReportMs: e.TANDEM_RESYNC_PROGRESS_REPORT_MS,
    logLevel: e.TANDEM_LOG_LEVEL,
    ...overrides,
  };
}

/** `tandem.agent.x.report` → `<prefix>.tandem.agent.x.report` when a prefix is set. */
export const prefixed = (prefix: string, subject: string): string => (prefix ? `${prefix}.${subject}` : subject);
