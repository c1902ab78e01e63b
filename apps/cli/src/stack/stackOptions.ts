/**
 * What `tandem stack` runs, from its flags and the environment: where the data lives, where the gateway, the
 * private NATS server and each node listen. Pure (no I/O), so every rule here is unit-tested.
 */
import * as path from 'path';
import { env as envVar, EnvConfigError, envVar as envVarOf, LOG_LEVELS, parseEnv } from '@tandem/contracts';

/** Bad flags or environment: the stack exits 2 with this message, having started nothing. */
export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface StackNode {
  /** `node-a`, `node-b`, …: display name, state directory and log file name. */
  name: string;
  iscsi: Endpoint;
  http: Endpoint;
  /** The node's portal group tag (= its target port group for HA devices): 1, 2, 3 … so that every node's differs. */
  portalGroupTag: number;
  /** Sync link (TCP) and heartbeat (UDP) of HA devices, on the node's own address. */
  sync: Endpoint;
  heartbeat: Endpoint;
  /** `<dataDir>/nodes/<name>`: the agent's config file, node id, outbox and device images. */
  stateDir: string;
  configPath: string;
}

export interface StackOptions {
  dataDir: string;
  gateway: Endpoint;
  /** Use this NATS server; undefined → start a private nats-server. */
  natsUrl?: string;
  /** Port of the private nats-server (127.0.0.1); 0 → any free port. Ignored with natsUrl. */
  natsPort: number;
  /** Path of the nats-server binary (undefined → search PATH and the sbin directories). */
  natsServerBinary?: string;
  /** Postgres; undefined → the embedded PGlite under `<dataDir>/pgdata`. */
  databaseUrl?: string;
  /** From TANDEM_API_TOKEN; undefined → `<dataDir>/api-token`, generated once. */
  apiToken?: string;
  nodes: StackNode[];
  /** Echo the children's logs (agents, nats-server) to the terminal, not only to their log files. */
  verbose: boolean;
  /** Bound on the wait for every node to register. */
  registrationTimeoutMs: number;
  /** Restart a dead node agent with backoff (false: --no-restart, leave it down). */
  autoRestart: boolean;
}

/** The flag values as commander hands them over (strings; undefined when neither flag nor env gave one). */
export interface StackFlags {
  dataDir?: string;
  gateway?: string;
  natsPort?: string;
  nodes?: string;
  iscsiPort?: string;
  httpPort?: string;
  syncPort?: string;
  heartbeatPort?: string;
  verbose?: boolean;
  registrationTimeout?: string;
  /** false under --no-restart (commander's negatable flag; true otherwise). */
  restart?: boolean;
}

export const STACK_DEFAULTS = {
  dataDir: '.tandem',
  gateway: '127.0.0.1:4000',
  /** A dedicated port, not 4222, so a system NATS server (and its streams) is never touched by accident. */
  natsPort: 4250,
  nodes: '127.0.0.11,127.0.0.12',
  iscsiPort: 3260,
  httpPort: 3261,
  syncPort: 3262,
  heartbeatPort: 3263,
  registrationTimeoutSeconds: 60,
} as const;

const NODE_NAMES = 'abcdefghijklmnopqrstuvwxyz';

/**
 * The stack's own variables, parsed once (the orchestrator's and the gateway's are checked by their schemas, the
 * agents' by theirs). A flag wins over its variable and is checked by the same rule.
 */
export const stackEnvSchema = {
  TANDEM_DATA_DIR: envVar.string(STACK_DEFAULTS.dataDir),
  TANDEM_GATEWAY_LISTEN: envVar.hostPort(STACK_DEFAULTS.gateway),
  TANDEM_STACK_NATS_PORT: envVar.port(STACK_DEFAULTS.natsPort, true),
  TANDEM_STACK_NODES: envVar.string(STACK_DEFAULTS.nodes),
  TANDEM_STACK_ISCSI_PORT: envVar.port(STACK_DEFAULTS.iscsiPort),
  TANDEM_STACK_HTTP_PORT: envVar.port(STACK_DEFAULTS.httpPort),
  TANDEM_STACK_SYNC_PORT: envVar.port(STACK_DEFAULTS.syncPort),
  TANDEM_STACK_HEARTBEAT_PORT: envVar.port(STACK_DEFAULTS.heartbeatPort),
  TANDEM_STACK_REGISTRATION_TIMEOUT: envVarOf(parseSeconds, STACK_DEFAULTS.registrationTimeoutSeconds as number),
  TANDEM_STACK_VERBOSE: envVar.flag(false),
  TANDEM_STACK_NO_RESTART: envVar.flag(false),
  TANDEM_NATS_SERVER: envVar.optionalString(),
  TANDEM_API_TOKEN: envVar.optionalString(),
  TANDEM_LOG_LEVEL: envVar.oneOf(LOG_LEVELS, 'info'),
  NATS_URL: envVar.optionalString(),
  DATABASE_URL: envVar.optionalString(),
};

/** Seconds > 0, e.g. `60` or `2.5`. */
function parseSeconds(text: string): number {
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (n > 0 && n <= 86_400) return n;
  throw new Error('must be seconds > 0 (at most 86400)');
}

const FLAG_OF: Record<string, string> = {
  TANDEM_DATA_DIR: '--data-dir',
  TANDEM_GATEWAY_LISTEN: '--gateway',
  TANDEM_STACK_NATS_PORT: '--nats-port',
  TANDEM_STACK_NODES: '--nodes',
  TANDEM_STACK_ISCSI_PORT: '--iscsi-port',
  TANDEM_STACK_HTTP_PORT: '--http-port',
  TANDEM_STACK_SYNC_PORT: '--sync-port',
  TANDEM_STACK_HEARTBEAT_PORT: '--heartbeat-port',
  TANDEM_STACK_REGISTRATION_TIMEOUT: '--registration-timeout',
};

/** The stack's variables with the flags put in their place; a bad value → StackConfigError naming the flag or variable. */
export function parseStackEnv(flags: StackFlags, env: NodeJS.ProcessEnv) {
  const source: NodeJS.ProcessEnv = { ...env };
  const fromFlag = new Set<string>();
  const put = (name: string, value: string | undefined) => {
    if (value === undefined) return;
    source[name] = value;
    fromFlag.add(name);
  };
  put('TANDEM_DATA_DIR', flags.dataDir);
  put('TANDEM_GATEWAY_LISTEN', flags.gateway);
  put('TANDEM_STACK_NATS_PORT', flags.natsPort);
  put('TANDEM_STACK_NODES', flags.nodes);
  put('TANDEM_STACK_ISCSI_PORT', flags.iscsiPort);
  put('TANDEM_STACK_HTTP_PORT', flags.httpPort);
  put('TANDEM_STACK_SYNC_PORT', flags.syncPort);
  put('TANDEM_STACK_HEARTBEAT_PORT', flags.heartbeatPort);
  put('TANDEM_STACK_REGISTRATION_TIMEOUT', flags.registrationTimeout);
  try {
    return parseEnv(stackEnvSchema, source, (name) => (fromFlag.has(name) ? FLAG_OF[name] : name));
  } catch (error) {
    if (error instanceof EnvConfigError) throw new StackConfigError(error.message);
    throw error;
  }
}

/** The whole 127.0.0.0/8 routes to the loopback interface on Linux: one address per node, same ports. */
export function isLoopbackV4(host: string): boolean {
  const parts = host.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** The stack's data directory, absolute: --data-dir, else TANDEM_DATA_DIR, else `.tandem`. */
export function resolveDataDir(flags: { dataDir?: string }, env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return path.resolve(cwd, flags.dataDir ?? env.TANDEM_DATA_DIR ?? STACK_DEFAULTS.dataDir);
}

export function stackOptionsFrom(flags: StackFlags, env: NodeJS.ProcessEnv, cwd = process.cwd()): StackOptions {
  const e = parseStackEnv(flags, env);
  const dataDir = path.resolve(cwd, e.TANDEM_DATA_DIR);
  const gateway = e.TANDEM_GATEWAY_LISTEN;
  const natsPort = e.TANDEM_STACK_NATS_PORT;
  const iscsiPort = e.TANDEM_STACK_ISCSI_PORT;
  const httpPort = e.TANDEM_STACK_HTTP_PORT;
  if (iscsiPort === httpPort) throw new StackConfigError(`the iSCSI port and the health port are both ${iscsiPort}; give them different ports`);
  const syncPort = e.TANDEM_STACK_SYNC_PORT;
  const heartbeatPort = e.TANDEM_STACK_HEARTBEAT_PORT;
  // Sync is TCP like iSCSI and the health port; the heartbeat is UDP and may share a number with them.
  if (new Set([iscsiPort, httpPort, syncPort]).size !== 3) throw new StackConfigError(`the iSCSI (${iscsiPort}), health (${httpPort}) and sync (${syncPort}) ports must differ`);

  const hosts = e.TANDEM_STACK_NODES
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
  if (hosts.length === 0 || hosts.length > NODE_NAMES.length) throw new StackConfigError(`--nodes / TANDEM_STACK_NODES: expected 1 to ${NODE_NAMES.length} comma-separated addresses`);
  for (const host of hosts) {
    // The stack's nodes serve without CHAP: they stay on this machine.
    if (!isLoopbackV4(host)) throw new StackConfigError(`node address ${host}: the local stack keeps its nodes on loopback addresses (127.x.y.z)`);
  }
  const duplicate = hosts.find((h, i) => hosts.indexOf(h) !== i);
  if (duplicate) throw new StackConfigError(`node address ${duplicate} is given twice: each node needs an address of its own`);

  const nodes = hosts.map((host, i) => {
    const name = `node-${NODE_NAMES[i]}`;
    const stateDir = path.join(dataDir, 'nodes', name);
    return {
      name,
      iscsi: { host, port: iscsiPort },
      http: { host, port: httpPort },
      portalGroupTag: i + 1,
      sync: { host, port: syncPort },
      heartbeat: { host, port: heartbeatPort },
      stateDir,
      configPath: path.join(stateDir, 'node.json'),
    };
  });
  const clashes = nodes.find((n) => n.iscsi.host === gateway.host && (n.iscsi.port === gateway.port || n.http.port === gateway.port));
  if (clashes) throw new StackConfigError(`the gateway (${formatEndpoint(gateway)}) and ${clashes.name} would listen on the same address and port`);

  const timeoutSeconds = e.TANDEM_STACK_REGISTRATION_TIMEOUT;

  return {
    dataDir,
    gateway,
    natsUrl: e.NATS_URL,
    natsPort,
    natsServerBinary: e.TANDEM_NATS_SERVER,
    databaseUrl: e.DATABASE_URL,
    apiToken: e.TANDEM_API_TOKEN,
    nodes,
    verbose: flags.verbose ?? e.TANDEM_STACK_VERBOSE,
    registrationTimeoutMs: Math.round(timeoutSeconds * 1000),
    autoRestart: flags.restart !== false && !e.TANDEM_STACK_NO_RESTART,
  };
}
