// 3-replica HA devices across three network namespaces (NetnsLab3: a sync switch and a heartbeat switch, each host
// with its own iSCSI front link). node-a has priority 3, node-b 2, node-c 1. The self-checking MPIO verifier
// (test/support/mpioVerifier.ts) writes over all three nodes' paths in every scenario: no acknowledged write lost,
// no block read back older than its last acknowledged write; after healing the three images are compared byte for
// byte, and the expected events must have been reported.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { qemuIo } from '../support/qemuIo';
import { haEvents, type HaNode, haTrio, kill9, startNode, stopNode, until } from '@tandem/testing';
import { MpioVerifier, expectIdenticalImages, finishVerifiedLoad } from '../support/mpioVerifier';
import { NetnsLab3, netnsUnavailable } from '../support/netns';
import { findBinary, skipWithReason } from '../support/tools';

const MiB = 1 << 20;
const SIZE = 64 * MiB;
const TITLE = 'HA with three replicas across network namespaces';

const serving = async (node: HaNode): Promise<boolean> => (await qemuIo(node.url, ['read 0 4k'], 10_000)).ok;
const types = (node: HaNode) => haEvents(node).map((e) => e.type);

const reason = netnsUnavailable() ?? (findBinary('qemu-io') && findBinary('qemu-img') ? undefined : 'qemu-io or qemu-img missing');
if (reason) skipWithReason(TITLE, reason);
else
  describe(TITLE, () => {
    let lab: NetnsLab3 | undefined;
    let dir: string | undefined;
    let nodes: HaNode[] = [];
    let verifier: MpioVerifier | undefined;

    const setup = async (strategy: 'heartbeat' | 'node-majority') => {
      lab = new NetnsLab3();
      lab.setup();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-trio-'));
      const place = (name: 'a' | 'b' | 'c') => ({ exec: lab!.exec(name), front: lab!.hosts[name].front, sync: lab!.hosts[name].sync, heartbeat: lab!.hosts[name].heartbeat });
      ({ nodes } = await haTrio({ dir, sizeBytes: SIZE, strategy, startupWaitMs: 2000, hosts: { a: place('a'), b: place('b'), c: place('c') } }));
      await Promise.all(nodes.map((n) => startNode(n)));
      for (const n of nodes) await until(() => serving(n), `${n.name} serving`, 30_000);
      verifier = await MpioVerifier.open(nodes.map((n) => n.url), { spanBytes: SIZE, policy: 'least-queue-depth' });
      verifier.start();
      await verifier.moreWrites(200, 'with three replicas');
    };

    const finishLoad = async (title: string) => {
      await finishVerifiedLoad(verifier!, title);
      verifier = undefined;
    };

    const compareImages = () => expectIdenticalImages(nodes, () => Promise.all(nodes.map((n) => stopNode(n))));

    afterEach(async () => {
      // On a failure, what each node said (HA events and warnings).
      if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts || process.env.TANDEM_TEST_VERBOSE) {
        for (const n of nodes) process.stdout.write(`--- ${n.name}\n${n.log.split('\n').filter((l) => /HA event|"level":[45]0/.test(l)).slice(-40).join('\n')}\n`);
      }
      await verifier?.close();
      verifier = undefined;
      await Promise.all(nodes.map((n) => stopNode(n)));
      nodes = [];
      lab?.teardown();
      lab = undefined;
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    }, 30_000);

    it('node-majority, one node isolated: it has no majority and blocks, the other two go on; healed, it rejoins', async () => {
      await setup('node-majority');
      const [a, b, c] = nodes;
      lab!.isolate('c');
      await until(() => types(c).includes('DeviceBlocked'), 'node-c blocked', 60_000);
      await until(() => types(a).includes('ReplicaNotSynchronized') && types(b).includes('ReplicaNotSynchronized'), 'node-a and node-b without node-c', 60_000);
      expect(await serving(c)).toBe(false);
      expect(haEvents(c).find((e) => e.type === 'DeviceBlocked')!.reason).toMatch(/no majority/);
      await verifier!.moreWrites(300, 'through node-a and node-b');
      expect(await serving(a)).toBe(true);
      expect(await serving(b)).toBe(true);
      lab!.rejoin('c');
      await until(() => types(a).includes('ResyncCompleted'), 'the resync of node-c', 30_000);
      await until(() => serving(c), 'node-c serving again', 30_000);
      await verifier!.moreWrites(200, 'with node-c back');
      await finishLoad('3 nodes, one isolated');
      expect(types(c)).toEqual(expect.arrayContaining(['DeviceBlocked', 'DeviceUnblocked']));
      expect(types(a)).toEqual(expect.arrayContaining(['ReplicaNotSynchronized', 'ResyncStarted', 'ResyncCompleted', 'ReplicaSynchronized']));
      expect([...haEvents(a), ...haEvents(b), ...haEvents(c)].some((e) => e.type === 'SplitBrainDetected')).toBe(false);
      await compareImages();
    }, 180_000);

    it('kill -9 of the highest-priority node under load: the other two go on; restarted, it is resynced into the group', async () => {
      await setup('heartbeat');
      const [a, b, c] = nodes;
      const killedAt = Date.now();
      await kill9(a);
      await verifier!.moreWrites(100, 'after the kill');
      process.stdout.write(`3 nodes: kill -9 of node-a → writes completing through node-b/node-c after ${Date.now() - killedAt} ms (initiator failover ${verifier!.failovers.join(', ') || 'n/a'} ms)\n`);
      expect(types(b)).toContain('ReplicaNotSynchronized');
      expect(types(c)).toContain('ReplicaNotSynchronized');
      await verifier!.moreWrites(300, 'through node-b and node-c');
      a.log = '';
      await startNode(a);
      await until(() => types(b).includes('ResyncCompleted'), 'the resync of node-a', 60_000);
      await until(() => serving(a), 'node-a serving again', 30_000);
      await verifier!.moreWrites(200, 'with node-a back');
      await finishLoad('3 nodes, kill -9');
      expect(types(a)).toContain('ReplicaSynchronized');
      await compareImages();
      void c;
    }, 180_000);

    it('all three killed (-9) under load and restarted: the highest priority leads, the others are resynced, nothing acknowledged is lost', async () => {
      await setup('node-majority');
      // Killed with writes in flight between the nodes; the initiator re-issues them once a path returns.
      await Promise.all(nodes.map((n) => kill9(n)));
      for (const n of nodes) n.log = '';
      await Promise.all(nodes.map((n) => startNode(n)));
      for (const n of nodes) await until(() => serving(n), `${n.name} serving after the restart`, 40_000);
      await verifier!.moreWrites(200, 'after the restart');
      await finishLoad('3 nodes, all killed');
      for (const n of nodes.slice(1)) expect(types(n)).toContain('ReplicaSynchronized');
      expect([...haEvents(nodes[0]), ...haEvents(nodes[1]), ...haEvents(nodes[2])].some((e) => e.type === 'SplitBrainDetected')).toBe(false);
      await compareImages();
    }, 180_000);
  });
