/** Node agent settings: where the data-plane config and local state live, where health/metrics listen, NATS. */
import * as path from 'path';
import { AGENT_REPORTS_STREAM } from '@tandem/contracts';

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
}

export function settingsFromArgv(argv: string[], env: NodeJS.ProcessEnv, overrides: Partial<NodeAgentSettings> = {}): NodeAgentSettings {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const configPath = arg('--config') ?? env.TANDEM_NODE_CONFIG;
  if (!configPath) throw new Error('node-agent needs --config FILE (or TANDEM_NODE_CONFIG)');
  const http = arg('--http') ?? env.TANDEM_NODE_HTTP ?? '127.0.0.1:3261';
  const m = /^(.+):(\d+)$/.exec(http);
  if (!m) throw new Error(`--http ${http}: expected HOST:PORT`);
  const stateDir = path.resolve(arg('--state-dir') ?? env.TANDEM_NODE_STATE_DIR ?? path.dirname(path.resolve(configPath)));
  const nats = arg('--nats') ?? env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const capacity = arg('--capacity') ?? env.TANDEM_NODE_CAPACITY_BYTES;
  const interval = Number(arg('--telemetry-interval-ms') ?? env.TANDEM_TELEMETRY_INTERVAL_MS ?? 1000);
  if (!Number.isInteger(interval) || interval < 50) throw new Error(`telemetry interval ${interval}: expected milliseconds ≥ 50`);
  const spaceWarnPercent = Number(arg('--space-warn-percent') ?? env.TANDEM_NODE_SPACE_WARN_PERCENT ?? 10);
  if (!(spaceWarnPercent >= 0 && spaceWarnPercent < 100)) throw new Error(`space warning ${spaceWarnPercent}: expected a percentage of free space, 0 to 99`);
  const cacheMiB = Number(arg('--cache-mib') ?? env.TANDEM_NODE_CACHE_MIB ?? 256);
  if (!Number.isInteger(cacheMiB) || cacheMiB < 1) throw new Error(`cache size ${cacheMiB}: expected whole MiB per device, at least 1`);
  const resyncMiB = Number(arg('--resync-mib-per-second') ?? env.TANDEM_NODE_RESYNC_MIB_PER_SECOND ?? 0);
  if (!(resyncMiB >= 0) || !Number.isFinite(resyncMiB)) throw new Error(`resync rate ${resyncMiB}: expected MiB per second, 0 for unlimited`);
  const progressMs = Number(env.TANDEM_RESYNC_PROGRESS_REPORT_MS ?? 5000);
  if (!Number.isInteger(progressMs) || progressMs < 100) throw new Error(`TANDEM_RESYNC_PROGRESS_REPORT_MS ${progressMs}: expected milliseconds ≥ 100`);
  return {
    configPath: path.resolve(configPath),
    httpHost: m[1].replace(/^\[|\]$/g, ''),
    httpPort: Number(m[2]),
    stateDir,
    imageDir: path.resolve(arg('--image-dir') ?? env.TANDEM_NODE_IMAGE_DIR ?? path.join(stateDir, 'devices')),
    natsUrl: nats === 'none' ? null : nats,
    subjectPrefix: env.TANDEM_SUBJECT_PREFIX ?? '',
    reportsStream: env.TANDEM_AGENT_REPORTS_STREAM ?? AGENT_REPORTS_STREAM,
    nodeName: arg('--name') ?? env.TANDEM_NODE_NAME,
    build: env.TANDEM_BUILD ?? 'dev',
    capacityBytes: capacity === undefined ? undefined : Number(capacity),
    targetIqnPrefix: env.TANDEM_TARGET_IQN_PREFIX ?? 'iqn.2026-11.io.tandem',
    telemetryIntervalMs: interval,
    spaceWarnPercent,
    cacheBytesPerDevice: cacheMiB * 1024 * 1024,
    resyncBytesPerSecond: Math.round(resyncMiB * 1024 * 1024),
    resyncProgressReportMs: progressMs,
    ...overrides,
  };
}

/** `tandem.agent.x.report` → `<prefix>.tandem.agent.x.report` when a prefix is set. */
export const prefixed = (prefix: string, subject: string): string => (prefix ? `${prefix}.${subject}` : subject);
