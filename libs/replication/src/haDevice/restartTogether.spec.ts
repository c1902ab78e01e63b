// Both replicas of a two-node HA device closed and opened again together (a whole stack restarted on one data
// directory): both serve again, synchronized, and what they reported across both runs no longer says "blocked".
// And a graceful stop of the higher-priority replica alone: the other goes on serving, and takes it back by resync.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FlatStore } from '@tandem/storage';
import { SyncNetwork } from '../channel/syncNetwork';
import { HaDevice } from './haDevice';
import type { HaDeviceConfig } from './haConfig';
import type { HaEvent } from './haEvents';

const LOOP = '127.0.0.1';
const SIZE = 4 << 20;
const DEVICE = 'restart-together';

/** The condition `probe` becomes true, or an error naming what was awaited. */
async function until(probe: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Node {
  id: string;
  priority: number;
  dir: string;
  network: SyncNetwork;
  device: HaDevice | null;
  /** Every event its replica reported, over every run (what a control plane folds). */
  events: HaEvent[];
}

/** Why the replica is blocked according to its reports so far (DeviceBlocked until a DeviceUnblocked), or null. */
function reportedBlock(node: Node): string | null {
  let reason: string | null = null;
  for (const e of node.events) {
    if (e.type === 'DeviceBlocked') reason = e.reason;
    if (e.type === 'DeviceUnblocked') reason = null;
  }
  return reason;
}

describe('HA device: both replicas restart together', () => {
  let root: string;
  let a: Node;
  let b: Node;

  async function node(id: string, priority: number): Promise<Node> {
    const network = new SyncNetwork({ nodeId: id, syncListen: [{ host: LOOP, port: 0 }], heartbeatListen: [{ host: LOOP, port: 0 }] });
    await network.start();
    return { id, priority, dir: fs.mkdtempSync(path.join(root, `${id}-`)), network, device: null, events: [] };
  }

  async function open(n: Node, partner: Node): Promise<void> {
    const store = await FlatStore.open({ path: path.join(n.dir, 'image'), sizeBytes: SIZE, create: true, thin: true });
    const config: HaDeviceConfig = {
      deviceId: DEVICE,
      localNodeId: n.id,
      priority: n.priority,
      localPortGroup: n === a ? 1 : 2,
      preferredAccessState: 'optimized',
      strategy: 'heartbeat',
      partners: [{ nodeId: partner.id, priority: partner.priority, sync: partner.network.syncAddresses(), heartbeat: partner.network.heartbeatAddresses(), portGroup: n === a ? 2 : 1 }],
      stateDir: path.join(n.dir, 'state'),
      initialGeneration: 'g0',
      startupWaitMs: 2000,
    };
    const device = await HaDevice.open(store, config, n.network);
    device.on('event', (e: HaEvent) => n.events.push(e));
    n.device = device;
  }

  async function close(n: Node): Promise<void> {
    await n.device?.close();
    await n.device?.local.close();
    n.device = null;
  }

  const synchronized = (n: Node) => n.device?.role === 'serving' && n.device.partners.every((p) => p.state === 'synchronized');

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ha-restart-together-'));
    // Node ids in the order the networks dial: the smaller one dials and opens the handshake.
    a = await node('node-a', 200);
    b = await node('node-b', 100);
  });

  afterEach(async () => {
    for (const n of [a, b]) {
      await close(n);
      await n.network.stop();
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the lower-priority replica that stepped aside (sync cut, heartbeat up) reports itself unblocked once it serves again after both restart', async () => {
    await open(a, b);
    await open(b, a);
    await until(() => synchronized(a) && synchronized(b), 'both replicas serving, synchronized', 15_000);
    const data = Buffer.alloc(64 * 1024, 0x5a);
    await a.device!.store.write(data, 0, data.length, 0, true);

    // node-a's sync links to node-b close with no word (a cut cable) while its heartbeat still answers: node-b (lower
    // priority) steps aside, as arbitration says. Then both are stopped.
    a.network.unregister(DEVICE, 'node-b');
    await until(() => b.device!.role === 'blocked', 'node-b stepping aside', 10_000);
    // What each reports of the other's port group (REPORT TARGET PORT GROUPS): blocked node-b cannot hear node-a and
    // says what node-a last said of itself (serving, optimized), not "unavailable" (Linux's ALUA handler would apply
    // that to node-a's good path too); serving node-a, which goes on without node-b, says node-b is unavailable.
    expect(b.device!.partners[0].accessState).toBe('optimized');
    await until(() => a.device!.partners[0].accessState === 'unavailable', "node-a reporting node-b's group unavailable", 10_000);
    await close(a);
    expect(reportedBlock(b)).toMatch(/answers on the heartbeat; it has the higher priority/);
    await close(b);

    // Started again together, on the same state and images.
    await open(a, b);
    await open(b, a);
    await until(() => synchronized(a) && synchronized(b), 'both replicas serving, synchronized, after the restart', 15_000);
    // What each replica reported, folded over both runs, says it serves: no block left from the previous run.
    expect(reportedBlock(a)).toBeNull();
    expect(reportedBlock(b)).toBeNull();
    const back = Buffer.alloc(64 * 1024);
    await b.device!.store.read(back, 0, back.length, 0);
    expect(back.equals(data)).toBe(true);
  }, 60_000);

  it('a graceful stop of the higher-priority replica: the other goes on serving alone, then resyncs it when it is back', async () => {
    await open(a, b);
    await open(b, a);
    await until(() => synchronized(a) && synchronized(b), 'both replicas serving, synchronized', 15_000);
    const first = Buffer.alloc(64 * 1024, 0x11);
    await a.device!.store.write(first, 0, first.length, 0, true);

    // node-a's agent stops (its heartbeat would still answer while its links close): node-b is told, and goes on.
    await close(a);
    await until(() => b.device!.role === 'serving' && b.device!.partners[0].state === 'not-synchronized', 'node-b serving alone', 10_000);
    expect(b.events.some((e) => e.type === 'ReplicaNotSynchronized' && /left the group: it is shutting down/.test(e.reason))).toBe(true);
    expect(b.events.some((e) => e.type === 'DeviceBlocked')).toBe(false);
    const second = Buffer.alloc(64 * 1024, 0x22);
    await b.device!.store.write(second, 0, second.length, 1 << 20, true);

    // node-a comes back behind the group: node-b resyncs it; node-a then reads what was written without it.
    await open(a, b);
    await until(() => synchronized(a) && synchronized(b), 'both serving, synchronized, after node-a is back', 15_000);
    const back = Buffer.alloc(64 * 1024);
    await a.device!.store.read(back, 0, back.length, 1 << 20);
    expect(back.equals(second)).toBe(true);
    await a.device!.store.read(back, 0, back.length, 0);
    expect(back.equals(first)).toBe(true);
  }, 60_000);
});
