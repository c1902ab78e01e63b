// HA fault scenarios across network namespaces: node-a and node-b each in a namespace of its own, iSCSI on a front
// link from this namespace, sync and heartbeat on two separate links between them that the test cuts for real
// (ip link down: a silent cut, no RST). A verifier writes unique patterns and reads them back; after healing, the
// two images are compared byte for byte, and the expected events must have been reported.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { run, spawnTracked, stopChild } from '../support/process';
import { qemuIo } from '../support/qemuIo';
import { TANDEM_BIN } from '../support/target';
import { haEvents, haPair, startNode, stopNode, type HaNode } from '../support/haPair';
import { NetnsLab, netnsUnavailable } from '../support/netns';
import { findBinary, skipWithReason } from '../support/tools';
import { until } from '../support/until';

const MiB = 1 << 20;
const TITLE = 'HA faults across network namespaces';

const io = async (url: string, ...commands: string[]): Promise<boolean> => (await qemuIo(url, commands, 15_000)).ok;

const reason = netnsUnavailable() ?? (findBinary('qemu-io') ? undefined : 'qemu-io missing');
if (reason) skipWithReason(TITLE, reason);
else
  describe(TITLE, () => {
    let lab: NetnsLab;
    let dir: string;
    let a: HaNode;
    let b: HaNode;
    let pattern = 0;
    /** Every acknowledged write: offset → pattern, re-read through the serving node at the end. */
    const acknowledged = new Map<number, number>();

    const write = async (url: string, offset: number): Promise<boolean> => {
      const p = (pattern = (pattern % 250) + 1);
      const ok = await io(url, `write -P ${p} ${offset} 1M`);
      if (ok) acknowledged.set(offset, p);
      return ok;
    };
    const verify = async (url: string) => {
      for (const [offset, p] of acknowledged) expect({ offset, ok: await io(url, `read -P ${p} ${offset} 1M`) }).toEqual({ offset, ok: true });
    };
    const compareImages = async () => {
      await Promise.all([stopNode(a), stopNode(b)]);
      const r = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', a.image, b.image], { timeoutMs: 60_000 });
      expect(r.stdout).toMatch(/Images are identical/);
    };

    let witness: ChildProcess | undefined;
    let witnessLog = '';

    beforeEach(async () => {
      lab = new NetnsLab();
      lab.setup();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-faults-'));
      acknowledged.clear();
      const withWitness = expect.getState().currentTestName?.includes('witness') ?? false;
      if (withWitness) {
        witnessLog = '';
        witness = spawnTracked(process.execPath, [TANDEM_BIN, 'witness', '--listen', `${lab.a.gateway}:3264`, '--listen', `${lab.b.gateway}:3264`, '--state', path.join(dir, 'witness.json')]);
        witness.stdout?.setEncoding('utf8').on('data', (d: string) => (witnessLog += d));
        witness.stderr?.setEncoding('utf8').on('data', (d: string) => (witnessLog += d));
        await until(() => /"msg":"ready"/.test(witnessLog), 'the witness', 10_000);
      }
      ({ a, b } = await haPair({
        witness: withWitness ? { a: [{ host: lab.a.gateway, port: 3264 }], b: [{ host: lab.b.gateway, port: 3264 }] } : undefined,
        dir,
        sizeBytes: 64 * MiB,
        startupWaitMs: 2000,
        asymmetric: true,
        hosts: {
          a: { exec: lab.exec('a'), front: lab.a.front, sync: lab.a.sync, heartbeat: lab.a.heartbeat },
          b: { exec: lab.exec('b'), front: lab.b.front, sync: lab.b.sync, heartbeat: lab.b.heartbeat },
        },
      }));
      await Promise.all([startNode(a), startNode(b)]);
      await until(async () => (await io(a.url, 'read 0 4k')) && (await io(b.url, 'read 0 4k')), 'both nodes serving', 30_000);
    }, 60_000);

    afterEach(async () => {
      await Promise.all([stopNode(a), stopNode(b)]);
      await stopChild(witness, 3000);
      witness = undefined;
      lab.teardown();
      fs.rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    it('sync links cut, heartbeat up: the lower priority blocks, the higher goes on; healed by resync', async () => {
      for (let i = 0; i < 8; i++) expect(await write(a.url, i * MiB)).toBe(true);
      lab.cut('sync');
      // node-b notices (no traffic for 1 s), asks the heartbeat, finds node-a alive with a higher priority: blocks.
      await until(() => haEvents(b).some((e) => e.type === 'DeviceBlocked'), 'node-b blocked', 15_000);
      expect(await io(b.url, 'read 0 4k')).toBe(false);
      await until(() => haEvents(a).some((e) => e.type === 'ReplicaNotSynchronized'), 'node-a alone', 15_000);
      for (let i = 8; i < 16; i++) expect(await write(a.url, i * MiB)).toBe(true);
      lab.restore('sync');
      await until(() => haEvents(a).some((e) => e.type === 'ResyncCompleted'), 'the resync', 30_000);
      await until(async () => io(b.url, 'read 0 4k'), 'node-b serving again', 30_000);
      await verify(b.url);
      expect(haEvents(b).map((e) => e.type)).toEqual(expect.arrayContaining(['DeviceBlocked', 'DeviceUnblocked']));
      await compareImages();
    }, 120_000);

    it('sync and heartbeat cut: both go on alone; on contact the split-brain is detected and the lower priority blocks', async () => {
      for (let i = 0; i < 4; i++) expect(await write(a.url, i * MiB)).toBe(true);
      lab.cut('sync');
      lab.cut('heartbeat');
      await until(() => haEvents(a).some((e) => e.type === 'ReplicaNotSynchronized') && haEvents(b).some((e) => e.type === 'ReplicaNotSynchronized'), 'both alone', 15_000);
      // Writes go on through node-a (MPIO's preferred, optimized path) while the nodes cannot see each other.
      for (let i = 4; i < 8; i++) expect(await write(a.url, i * MiB)).toBe(true);
      lab.restore('heartbeat');
      lab.restore('sync');
      await until(() => haEvents(a).some((e) => e.type === 'SplitBrainDetected') && haEvents(b).some((e) => e.type === 'SplitBrainDetected'), 'the split-brain', 15_000);
      const evidence = haEvents(b).find((e) => e.type === 'SplitBrainDetected')!.evidence as string;
      expect(evidence).toMatch(/generations diverged/);
      await until(async () => !(await io(b.url, 'read 0 4k')), 'node-b blocked', 10_000);
      // node-a never stopped serving, and every write it acknowledged is there; nothing is merged.
      await verify(a.url);
    }, 120_000);

    it('a flapping sync link: short drops cost nothing, long ones a resync; the replicas end identical', async () => {
      let offset = 0;
      for (let cycle = 0; cycle < 4; cycle++) {
        lab.cut('sync');
        await new Promise((r) => setTimeout(r, cycle % 2 === 0 ? 300 : 2500));
        lab.restore('sync');
        for (let i = 0; i < 2; i++) expect(await write(a.url, (offset++ % 60) * MiB)).toBe(true);
      }
      await until(async () => io(b.url, 'read 0 4k'), 'node-b serving', 30_000);
      await until(() => {
        const types = haEvents(a).map((e) => e.type);
        return types.lastIndexOf('ReplicaSynchronized') > types.lastIndexOf('ReplicaNotSynchronized');
      }, 'the pair synchronized again', 30_000);
      await verify(b.url);
      await compareImages();
    }, 120_000);

    it('2-node + witness (node-majority), sync and heartbeat cut: exactly one side gets the vote and goes on; healed by resync', async () => {
      for (let i = 0; i < 4; i++) expect(await write(a.url, i * MiB)).toBe(true);
      lab.cut('sync');
      lab.cut('heartbeat');
      const decided = (n: HaNode) => haEvents(n).some((e) => e.type === 'DeviceBlocked' || e.type === 'ReplicaNotSynchronized');
      await until(() => decided(a) && decided(b), 'both sides decided', 15_000);
      const alone = [a, b].filter((n) => haEvents(n).some((e) => e.type === 'ReplicaNotSynchronized'));
      const blocked = [a, b].filter((n) => haEvents(n).some((e) => e.type === 'DeviceBlocked'));
      expect(alone).toHaveLength(1);
      expect(blocked.map((n) => n.name)).toEqual([a, b].filter((n) => n !== alone[0]).map((n) => n.name));
      // Only the side with the vote serves: writes there are acknowledged, the other refuses I/O.
      const survivor = alone[0];
      const other = blocked[0];
      for (let i = 4; i < 8; i++) expect(await write(survivor.url, i * MiB)).toBe(true);
      expect(await io(other.url, 'read 0 4k')).toBe(false);
      lab.restore('heartbeat');
      lab.restore('sync');
      await until(() => haEvents(survivor).some((e) => e.type === 'ResyncCompleted'), 'the resync', 30_000);
      await until(async () => io(other.url, 'read 0 4k'), 'the other side serving again', 30_000);
      expect([...haEvents(a), ...haEvents(b)].some((e) => e.type === 'SplitBrainDetected')).toBe(false);
      await verify(other.url);
      await compareImages();
    }, 120_000);
  });
