// HA fault scenarios across network namespaces: node-a and node-b each in a namespace of its own, iSCSI on a front
// link from this namespace, sync and heartbeat on two separate links between them that the test cuts for real
// (ip link down: a silent cut, no RST). In every scenario the self-checking verifier (test/support/mpioVerifier.ts)
// writes through Tandem's MPIO initiator over both nodes' paths: no acknowledged write may be lost, no block read
// back older than its last acknowledged write; after healing the two images are compared byte for byte, and the
// expected events must have been reported.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import type { PathPolicy } from '@tandem/initiator';
import { haEvents, type HaNode, haPair, run, spawnTracked, startNode, stopChild, stopNode, until } from '@tandem/testing';
import { qemuIo } from '../support/qemuIo';
import { TANDEM_BIN } from '../support/target';
import { MpioVerifier, expectIdenticalImages, finishVerifiedLoad } from '../support/mpioVerifier';
import { NetnsLab, netnsUnavailable } from '../support/netns';
import { findBinary, skipWithReason } from '../support/tools';

const MiB = 1 << 20;
const SIZE = 64 * MiB;
const TITLE = 'HA faults across network namespaces';

const serving = async (node: HaNode): Promise<boolean> => (await qemuIo(node.url, ['read 0 4k'], 10_000)).ok;

const reason = netnsUnavailable() ?? (findBinary('qemu-io') && findBinary('qemu-img') ? undefined : 'qemu-io or qemu-img missing');
if (reason) skipWithReason(TITLE, reason);
else
  describe(TITLE, () => {
    let lab: NetnsLab | undefined;
    let dir: string | undefined;
    let a: HaNode;
    let b: HaNode;
    let deviceId: string;
    let verifier: MpioVerifier | undefined;
    let witness: ChildProcess | undefined;

    /**
     * Two nodes in their namespaces, both serving, and the verifier running through MPIO over both paths.
     * `asymmetric`: node-b's paths are active/non-optimized, so the initiator keeps to node-a while it can.
     */
    const setup = async (options: { withWitness?: boolean; asymmetric?: boolean; policy?: PathPolicy } = {}) => {
      lab = new NetnsLab();
      lab.setup();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-faults-'));
      if (options.withWitness) {
        let witnessLog = '';
        witness = spawnTracked(process.execPath, [TANDEM_BIN, 'witness', '--listen', `${lab.a.gateway}:3264`, '--listen', `${lab.b.gateway}:3264`, '--state', path.join(dir, 'witness.json')]);
        witness.stdout?.setEncoding('utf8').on('data', (d: string) => (witnessLog += d));
        witness.stderr?.setEncoding('utf8').on('data', (d: string) => (witnessLog += d));
        await until(() => /"msg":"ready"/.test(witnessLog), 'the witness', 10_000);
      }
      ({ a, b, deviceId } = await haPair({
        witness: options.withWitness ? { a: [{ host: lab.a.gateway, port: 3264 }], b: [{ host: lab.b.gateway, port: 3264 }] } : undefined,
        dir,
        sizeBytes: SIZE,
        startupWaitMs: 2000,
        asymmetric: options.asymmetric ?? false,
        hosts: {
          a: { exec: lab.exec('a'), front: lab.a.front, sync: lab.a.sync, heartbeat: lab.a.heartbeat },
          b: { exec: lab.exec('b'), front: lab.b.front, sync: lab.b.sync, heartbeat: lab.b.heartbeat },
        },
      }));
      a.adminSocket = path.join(dir, 'node-a.sock');
      b.adminSocket = path.join(dir, 'node-b.sock');
      await Promise.all([startNode(a), startNode(b)]);
      await until(async () => (await serving(a)) && (await serving(b)), 'both nodes serving', 30_000);
      verifier = await MpioVerifier.open([a.url, b.url], { spanBytes: SIZE, policy: options.policy ?? 'least-queue-depth' });
      verifier.start();
      await verifier.moreWrites(200, 'before the fault');
    };

    const finishLoad = async (title: string) => {
      await finishVerifiedLoad(verifier!, title);
      verifier = undefined;
    };

    const compareImages = () => expectIdenticalImages([a, b], () => Promise.all([a, b].map((n) => stopNode(n))));

    afterEach(async () => {
      await verifier?.close();
      verifier = undefined;
      await Promise.all([a && stopNode(a), b && stopNode(b)]);
      await stopChild(witness, 3000);
      witness = undefined;
      lab?.teardown();
      lab = undefined;
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    }, 30_000);

    it('sync links cut, heartbeat up: the lower priority blocks, the higher goes on; healed by resync', async () => {
      await setup();
      lab!.cut('sync');
      // node-b notices (no traffic for 1 s), asks the heartbeat, finds node-a alive with a higher priority: blocks.
      await until(() => haEvents(b).some((e) => e.type === 'DeviceBlocked'), 'node-b blocked', 15_000);
      expect(await serving(b)).toBe(false);
      await until(() => haEvents(a).some((e) => e.type === 'ReplicaNotSynchronized'), 'node-a alone', 15_000);
      await verifier!.moreWrites(200, 'through node-a alone');
      lab!.restore('sync');
      await until(() => haEvents(a).some((e) => e.type === 'ResyncCompleted'), 'the resync', 30_000);
      await until(() => serving(b), 'node-b serving again', 30_000);
      await verifier!.moreWrites(200, 'after the heal');
      await finishLoad('sync cut');
      expect(haEvents(b).map((e) => e.type)).toEqual(expect.arrayContaining(['DeviceBlocked', 'DeviceUnblocked']));
      expect(haEvents(a).map((e) => e.type)).toEqual(expect.arrayContaining(['ReplicaNotSynchronized', 'ResyncStarted', 'ResyncCompleted', 'ReplicaSynchronized']));
      await compareImages();
    }, 150_000);

    it('sync and heartbeat cut: both go on alone; on contact the split-brain is detected and the lower priority blocks', async () => {
      // Without a witness both sides go on: the initiator keeps to node-a's optimized path (asymmetric ALUA, failover),
      // as a host does, so it never sees node-b's diverging copy.
      await setup({ asymmetric: true, policy: 'failover' });
      lab!.cut('sync');
      lab!.cut('heartbeat');
      await until(() => haEvents(a).some((e) => e.type === 'ReplicaNotSynchronized') && haEvents(b).some((e) => e.type === 'ReplicaNotSynchronized'), 'both alone', 15_000);
      await verifier!.moreWrites(200, 'while the nodes cannot see each other');
      lab!.restore('heartbeat');
      lab!.restore('sync');
      await until(() => haEvents(a).some((e) => e.type === 'SplitBrainDetected') && haEvents(b).some((e) => e.type === 'SplitBrainDetected'), 'the split-brain', 15_000);
      const evidence = haEvents(b).find((e) => e.type === 'SplitBrainDetected')!.evidence as string;
      expect(evidence).toMatch(/generations diverged/);
      await until(async () => !(await serving(b)), 'node-b blocked', 10_000);
      // node-a never stopped serving, and every write it acknowledged is there; nothing is merged.
      await verifier!.moreWrites(100, 'through node-a after the split-brain');
      await finishLoad('sync and heartbeat cut');
      // No control plane here: the operator keeps node-a's data through its admin socket (`tandem ha`).
      const status = await run(process.execPath, [TANDEM_BIN, 'ha', 'status', '--socket', b.adminSocket!, '--json'], { timeoutMs: 30_000 });
      expect(JSON.parse(status.stdout)[0].partners[0].state).toBe('split-brain');
      const resolved = await run(process.execPath, [TANDEM_BIN, 'ha', 'resolve-split-brain', '--socket', a.adminSocket!, '--device', deviceId], { timeoutMs: 60_000 });
      expect(resolved.stdout).toMatch(/resolved/);
      await until(() => haEvents(a).some((e) => e.type === 'ResyncCompleted'), 'the copy to node-b', 30_000);
      await until(() => serving(b), 'node-b serving again', 30_000);
      expect(haEvents(b).map((e) => e.type)).toContain('SplitBrainResolved');
      await compareImages();
    }, 150_000);

    it('a flapping sync link: short drops cost nothing, long ones a resync; the replicas end identical', async () => {
      await setup();
      for (let cycle = 0; cycle < 4; cycle++) {
        lab!.cut('sync');
        await new Promise((r) => setTimeout(r, cycle % 2 === 0 ? 300 : 2500));
        lab!.restore('sync');
        await verifier!.moreWrites(50, `after flap ${cycle + 1}`);
      }
      await until(async () => serving(b), 'node-b serving', 30_000);
      await until(() => {
        const types = haEvents(a).map((e) => e.type);
        return types.lastIndexOf('ReplicaSynchronized') > types.lastIndexOf('ReplicaNotSynchronized');
      }, 'the pair synchronized again', 30_000);
      await verifier!.moreWrites(100, 'after the flapping');
      await finishLoad('flapping sync link');
      await compareImages();
    }, 150_000);

    it('2-node + witness (node-majority), sync and heartbeat cut: exactly one side gets the vote and goes on; healed by resync', async () => {
      await setup({ withWitness: true });
      lab!.cut('sync');
      lab!.cut('heartbeat');
      const decided = (n: HaNode) => haEvents(n).some((e) => e.type === 'DeviceBlocked' || e.type === 'ReplicaNotSynchronized');
      await until(() => decided(a) && decided(b), 'both sides decided', 15_000);
      const alone = [a, b].filter((n) => haEvents(n).some((e) => e.type === 'ReplicaNotSynchronized'));
      const blocked = [a, b].filter((n) => haEvents(n).some((e) => e.type === 'DeviceBlocked'));
      expect(alone).toHaveLength(1);
      expect(blocked.map((n) => n.name)).toEqual([a, b].filter((n) => n !== alone[0]).map((n) => n.name));
      // Only the side with the vote serves: the load goes on there, the other refuses I/O.
      const survivor = alone[0];
      const other = blocked[0];
      await verifier!.moreWrites(200, `through ${survivor.name} alone`);
      expect(await serving(other)).toBe(false);
      lab!.restore('heartbeat');
      lab!.restore('sync');
      await until(() => haEvents(survivor).some((e) => e.type === 'ResyncCompleted'), 'the resync', 30_000);
      await until(async () => serving(other), 'the other side serving again', 30_000);
      await verifier!.moreWrites(100, 'after the heal');
      await finishLoad('2-node + witness');
      expect([...haEvents(a), ...haEvents(b)].some((e) => e.type === 'SplitBrainDetected')).toBe(false);
      await compareImages();
    }, 150_000);
  });
