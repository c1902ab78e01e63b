// Two `tandem serve --config` processes presenting one HA device (node-a priority 2, node-b priority 1) on
// loopback, each with its own iSCSI, sync and heartbeat ports; the test drives and kills them for real.
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { freePort } from './ports';
import { spawnTracked, stopChild } from './process';
import { TANDEM_BIN } from './repo';

export const HA_IQN = 'iqn.2026-11.io.tandem:ha-test';

export interface HaNode {
  name: string;
  /** argv prefix to run the node in its own network namespace (empty: this one). */
  exec: string[];
  host: string;
  iscsiPort: number;
  syncPort: number;
  heartbeatPort: number;
  image: string;
  configPath: string;
  child?: ChildProcess;
  log: string;
  /** iscsi://host:port/iqn/0 */
  url: string;
  /** `--admin-socket` path, when the test wants one. */
  adminSocket?: string;
}

/** Where a node lives when it has a network namespace of its own (test/support/netns.ts sets those up). */
export interface HaHostPlacement {
  exec: string[];
  front: string;
  sync: string;
  heartbeat: string;
}

export interface HaPairOptions {
  dir: string;
  hosts?: { a: HaHostPlacement; b: HaHostPlacement };
  /** node-b's paths reported active/non-optimized (asymmetric ALUA): MPIO failover prefers node-a. */
  asymmetric?: boolean;
  /** node-majority with a witness (each node's view of the witness's addresses). */
  witness?: { a: { host: string; port: number }[]; b: { host: string; port: number }[] };
  sizeBytes: number;
  regionBytes?: number;
  startupWaitMs?: number;
  resyncBytesPerSecond?: number;
  /** A RAM cache on each node's replica (the LU's `cache` section). */
  cache?: { mode: 'write-back' | 'write-through' | 'none'; sizeBytes: number };
}

export async function haPair(options: HaPairOptions): Promise<{ a: HaNode; b: HaNode; deviceId: string; generation: string }> {
  const deviceId = randomUUID();
  const generation = randomUUID();
  const make = async (name: 'node-a' | 'node-b'): Promise<HaNode & { syncHost: string; heartbeatHost: string }> => {
    const placement = options.hosts?.[name === 'node-a' ? 'a' : 'b'];
    const host = placement?.front ?? '127.0.0.1';
    // In a namespace of its own a node has the default ports to itself.
    const iscsiPort = placement ? 3260 : await freePort();
    const image = path.join(options.dir, `${name}.img`);
    return {
      name,
      exec: placement?.exec ?? [],
      host,
      syncHost: placement?.sync ?? host,
      heartbeatHost: placement?.heartbeat ?? host,
      iscsiPort,
      syncPort: placement ? 3262 : await freePort(),
      heartbeatPort: placement ? 3263 : await freePort(),
      image,
      configPath: path.join(options.dir, `${name}.json`),
      log: '',
      url: `iscsi://${host}:${iscsiPort}/${HA_IQN}/0`,
    };
  };
  const a = await make('node-a');
  const b = await make('node-b');
  type Placed = HaNode & { syncHost: string; heartbeatHost: string };
  const write = (self: Placed, partner: Placed, priority: number, group: number, partnerGroup: number) => {
    const config = {
      portals: [{ host: self.host, port: self.iscsiPort, portalGroupTag: group }],
      replication: { nodeId: self.name, sync: [{ host: self.syncHost, port: self.syncPort }], heartbeat: [{ host: self.heartbeatHost, port: self.heartbeatPort }] },
      nopIntervalSeconds: 5,
      nopTimeoutSeconds: 10,
      targets: [
        {
          name: HA_IQN,
          luns: [
            {
              lun: 0,
              deviceId,
              store: { kind: 'flat', path: self.image, sizeBytes: options.sizeBytes, create: !fs.existsSync(self.image), thin: true },
              ...(options.cache ? { cache: options.cache } : {}),
              ha: {
                priority,
                portGroup: group,
                accessState: options.asymmetric && self.name === 'node-b' ? 'non-optimized' : 'optimized',
                ...(options.witness ? { strategy: 'node-majority', witness: self.name === 'node-a' ? options.witness.a : options.witness.b } : {}),
                partners: [{ nodeId: partner.name, priority: 3 - priority, sync: [{ host: partner.syncHost, port: partner.syncPort }], heartbeat: [{ host: partner.heartbeatHost, port: partner.heartbeatPort }], portGroup: partnerGroup }],
                initialGeneration: generation,
                regionBytes: options.regionBytes,
                startupWaitMs: options.startupWaitMs ?? 3000,
                resyncBytesPerSecond: options.resyncBytesPerSecond,
              },
            },
          ],
        },
      ],
    };
    fs.writeFileSync(self.configPath, JSON.stringify(config, null, 2));
  };
  write(a, b, 2, 1, 2);
  write(b, a, 1, 2, 1);
  return { a, b, deviceId, generation };
}

export interface HaTrioOptions {
  dir: string;
  /** Each node in a namespace of its own (NetnsLab3), or all on loopback. */
  hosts?: { a: HaHostPlacement; b: HaHostPlacement; c: HaHostPlacement };
  strategy?: 'heartbeat' | 'node-majority';
  sizeBytes: number;
  startupWaitMs?: number;
}

/** Three `tandem serve` nodes presenting one 3-replica HA device: node-a priority 3, node-b 2, node-c 1. */
export async function haTrio(options: HaTrioOptions): Promise<{ nodes: HaNode[]; deviceId: string; generation: string }> {
  const deviceId = randomUUID();
  const generation = randomUUID();
  type Placed = HaNode & { syncHost: string; heartbeatHost: string; priority: number; group: number };
  const names = ['a', 'b', 'c'] as const;
  const nodes: Placed[] = [];
  for (const [i, short] of names.entries()) {
    const placement = options.hosts?.[short];
    const host = placement?.front ?? '127.0.0.1';
    const iscsiPort = placement ? 3260 : await freePort();
    nodes.push({
      name: `node-${short}`,
      exec: placement?.exec ?? [],
      host,
      syncHost: placement?.sync ?? host,
      heartbeatHost: placement?.heartbeat ?? host,
      iscsiPort,
      syncPort: placement ? 3262 : await freePort(),
      heartbeatPort: placement ? 3263 : await freePort(),
      image: path.join(options.dir, `node-${short}.img`),
      configPath: path.join(options.dir, `node-${short}.json`),
      log: '',
      url: `iscsi://${host}:${iscsiPort}/${HA_IQN}/0`,
      priority: 3 - i,
      group: i + 1,
    });
  }
  for (const self of nodes) {
    const config = {
      portals: [{ host: self.host, port: self.iscsiPort, portalGroupTag: self.group }],
      replication: { nodeId: self.name, sync: [{ host: self.syncHost, port: self.syncPort }], heartbeat: [{ host: self.heartbeatHost, port: self.heartbeatPort }] },
      nopIntervalSeconds: 5,
      nopTimeoutSeconds: 10,
      targets: [
        {
          name: HA_IQN,
          luns: [
            {
              lun: 0,
              deviceId,
              store: { kind: 'flat', path: self.image, sizeBytes: options.sizeBytes, create: !fs.existsSync(self.image), thin: true },
              ha: {
                priority: self.priority,
                portGroup: self.group,
                strategy: options.strategy ?? 'heartbeat',
                partners: nodes
                  .filter((n) => n !== self)
                  .map((n) => ({ nodeId: n.name, priority: n.priority, sync: [{ host: n.syncHost, port: n.syncPort }], heartbeat: [{ host: n.heartbeatHost, port: n.heartbeatPort }], portGroup: n.group })),
                initialGeneration: generation,
                startupWaitMs: options.startupWaitMs ?? 3000,
              },
            },
          ],
        },
      ],
    };
    fs.writeFileSync(self.configPath, JSON.stringify(config, null, 2));
  }
  return { nodes, deviceId, generation };
}

/** Starts (or restarts) a node; resolves once it logs "ready". */
export async function startNode(node: HaNode, timeoutMs = 20_000): Promise<void> {
  // The image exists after the first start: reopen it as it is.
  const config = JSON.parse(fs.readFileSync(node.configPath, 'utf8'));
  const store = config.targets[0].luns[0].store;
  if (fs.existsSync(node.image)) {
    store.create = false;
    delete store.sizeBytes;
  }
  fs.writeFileSync(node.configPath, JSON.stringify(config, null, 2));
  const argv = [...node.exec, process.execPath, TANDEM_BIN, 'serve', '--config', node.configPath, ...(node.adminSocket ? ['--admin-socket', node.adminSocket] : [])];
  const child = spawnTracked(argv[0], argv.slice(1), { env: { ...process.env, TANDEM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  node.child = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${node.name} not ready within ${timeoutMs} ms:\n${node.log.slice(-3000)}`)), timeoutMs);
    const onData = (d: string) => {
      node.log += d;
      if (/"msg":"ready"/.test(d)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (node.log += d));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${node.name} exited (${code ?? signal}) before ready:\n${node.log.slice(-3000)}`));
    });
  });
}

export function kill9(node: HaNode): Promise<void> {
  const child = node.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function stopNode(node: HaNode): Promise<void> {
  await stopChild(node.child, 5000);
}

/** HA events a node logged, in order (type and the rest), from its JSON log lines. */
export function haEvents(node: HaNode): { type: string; [k: string]: unknown }[] {
  return node.log
    .split('\n')
    .filter((l) => l.includes('"msg":"HA event"'))
    .map((l) => JSON.parse(l));
}
