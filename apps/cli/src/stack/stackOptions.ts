/**
 * What `tandem stack` runs, from its flags and the environment: where the data lives, where the gateway, the
 * private NATS server and each node listen. Pure (no I/O), so every rule here is unit-tested.
 */
import * as path from 'path';

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

export function parsePort(value: string, what: string, allowZero = false): number {
  if (!/^\d{1,5}$/.test(value.trim())) throw new StackConfigError(`${what} ${JSON.stringify(value)}: expected a port number`);
  const port = Number(value);
  if (port > 65535 || (port === 0 && !allowZero)) throw new StackConfigError(`${what} ${port}: expected a port from 1 to 65535${allowZero ? ' (or 0 for any free port)' : ''}`);
  return port;
}

/** `127.0.0.1:4000`, `[::1]:4000` → host and port. */
export function parseEndpoint(value: string, what: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  if (!match) throw new StackConfigError(`${what} ${JSON.stringify(value)}: expected HOST:PORT, e.g. 127.0.0.1:4000`);
  return { host: match[1] ?? match[2], port: parsePort(match[3], what) };
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
  const dataDir = resolveDataDir(flags, env, cwd);
  const gateway = parseEndpoint(flags.gateway ?? env.TANDEM_GATEWAY_LISTEN ?? STACK_DEFAULTS.gateway, 'gateway address (--gateway / TANDEM_GATEWAY_LISTEN)');
  const natsPort = parsePort(flags.natsPort ?? env.TANDEM_STACK_NATS_PORT ?? String(STACK_DEFAULTS.natsPort), 'NATS port (--nats-port / TANDEM_STACK_NATS_PORT)', true);
  const iscsiPort = parsePort(flags.iscsiPort ?? env.TANDEM_STACK_ISCSI_PORT ?? String(STACK_DEFAULTS.iscsiPort), 'iSCSI port (--iscsi-port / TANDEM_STACK_ISCSI_PORT)');
  const httpPort = parsePort(flags.httpPort ?? env.TANDEM_STACK_HTTP_PORT ?? String(STACK_DEFAULTS.httpPort), 'health port (--http-port / TANDEM_STACK_HTTP_PORT)');
  if (iscsiPort === httpPort) throw new StackConfigError(`the iSCSI port and the health port are both ${iscsiPort}; give them different ports`);
  const syncPort = parsePort(flags.syncPort ?? env.TANDEM_STACK_SYNC_PORT ?? String(STACK_DEFAULTS.syncPort), 'sync port (--sync-port / TANDEM_STACK_SYNC_PORT)');
  const heartbeatPort = parsePort(flags.heartbeatPort ?? env.TANDEM_STACK_HEARTBEAT_PORT ?? String(STACK_DEFAULTS.heartbeatPort), 'heartbeat port (--heartbeat-port / TANDEM_STACK_HEARTBEAT_PORT)');
  // Sync is TCP like iSCSI and the health port; the heartbeat is UDP and may share a number with them.
  if (new Set([iscsiPort, httpPort, syncPort]).size !== 3) throw new StackConfigError(`the iSCSI (${iscsiPort}), health (${httpPort}) and sync (${syncPort}) ports must differ`);

  const hosts = (flags.nodes ?? env.TANDEM_STACK_NODES ?? STACK_DEFAULTS.nodes)
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

  const timeoutSeconds = Number(flags.registrationTimeout ?? env.TANDEM_STACK_REGISTRATION_TIMEOUT ?? STACK_DEFAULTS.registrationTimeoutSeconds);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new StackConfigError(`registration timeout ${flags.registrationTimeout}: expected seconds > 0`);

  return {
    dataDir,
    gateway,
    natsUrl: env.NATS_URL || undefined,
    natsPort,
    natsServerBinary: env.TANDEM_NATS_SERVER || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    apiToken: env.TANDEM_API_TOKEN || undefined,
    nodes,
    verbose: flags.verbose ?? env.TANDEM_STACK_VERBOSE === '1',
    registrationTimeoutMs: timeoutSeconds * 1000,
    autoRestart: flags.restart !== false && env.TANDEM_STACK_NO_RESTART !== '1',
  };
}
