// The Linux kernel initiator with dm-multipath against a HA pair of real `tandem serve --config` nodes, each in a
// network namespace of its own (test/support/netns.ts: the guest reaches their front addresses through qemu's user
// networking; sync and heartbeat run on separate links between them). Asymmetric ALUA first (node-a optimized): one
// map with a path per node, I/O on the optimized group only, fio with crc32c verify through the map while node-a is
// killed with kill -9, node-a's return and resync, a read-back through node-a alone. Then node-b comes back as an
// equal (both optimized) and the sync link is cut with the heartbeat up under verified writes: node-b blocks,
// dm-multipath keeps the I/O on node-a with no error; restored, node-b resyncs and its path returns. One boot.
import * as fs from 'fs';
import { prepareGuestImage } from '../support/guest';
import { makeTempDir, MiB, removeDir } from '../support/files';
import { NetnsLab, netnsUnavailable } from '../support/netns';
import { skipWithReason } from '../support/tools';
import { groupPassed, GroupRun, runScenarioGroup } from './scenarioGroup';
import { HA_IQN, haEvents, haPair, HaNode, kill9, startNode, stopNode, until } from '@tandem/testing';

const TITLE = 'HA pair through dm-multipath';
const BOOT_LIMIT_MS = 25 * 60_000;
const image = prepareGuestImage();
const unavailable = 'reason' in image ? image.reason : netnsUnavailable();

/** Restarts a node with both of its ALUA states optimized (a symmetric pair from then on). */
function makeOptimized(node: HaNode): void {
  const config = JSON.parse(fs.readFileSync(node.configPath, 'utf8'));
  config.targets[0].luns[0].ha.accessState = 'optimized';
  fs.writeFileSync(node.configPath, JSON.stringify(config, null, 2));
}

const eventCount = (node: HaNode, type: string) => haEvents(node).filter((e) => e.type === type).length;

if (unavailable !== undefined || 'reason' in image) {
  describe(`Linux kernel initiator, ${TITLE}`, () => skipWithReason(`Linux kernel initiator, ${TITLE}`, unavailable ?? 'no guest image'));
} else {
  describe(`Linux kernel initiator ${image.versions.kernel}, HA pair through dm-multipath`, () => {
    let dir: string;
    let nodes: { a: HaNode; b: HaNode } | undefined;
    let run: GroupRun;
    let killedAt = 0;
    let lab: NetnsLab | undefined;
    /** What the host saw of the sync cut (ms from the cut), for the report. */
    const syncCut: Record<string, number> = {};

    beforeAll(async () => {
      dir = makeTempDir('tandem-host-ha-');
      lab = new NetnsLab();
      lab.setup();
      const l = lab;
      const pair = await haPair({
        dir,
        sizeBytes: 64 * MiB,
        asymmetric: true,
        hosts: {
          a: { exec: l.exec('a'), front: l.a.front, sync: l.a.sync, heartbeat: l.a.heartbeat },
          b: { exec: l.exec('b'), front: l.b.front, sync: l.b.sync, heartbeat: l.b.heartbeat },
        },
      });
      nodes = { a: pair.a, b: pair.b };
      await Promise.all([startNode(pair.a), startNode(pair.b)]);
      run = await runScenarioGroup({
        name: 'linux-ha',
        image,
        dir,
        scenarioFile: 'linux-ha.scenario.sh',
        params: { IQN: HA_IQN, HOST_A: pair.a.host, PORT_A: pair.a.iscsiPort, HOST_B: pair.b.host, PORT_B: pair.b.iscsiPort },
        timeoutMs: BOOT_LIMIT_MS,
        handlers: {
          start: async (name) => {
            await startNode(name === 'node-a' ? pair.a : pair.b, 60_000);
            return `started ${name}`;
          },
          'start-optimized': async (name) => {
            const node = name === 'node-a' ? pair.a : pair.b;
            makeOptimized(node);
            await startNode(node, 60_000);
            return `started ${name} optimized`;
          },
          kill: async (name) => {
            const node = name === 'node-a' ? pair.a : pair.b;
            await kill9(node);
            killedAt = Date.now();
            return `killed ${name}`;
          },
          // Cuts the sync link (both ends down: packets dropped, no RST); the heartbeat link stays up. Answers once
          // node-b (the lower priority) has blocked.
          'cut-sync': async () => {
            const blockedBefore = eventCount(pair.b, 'DeviceBlocked');
            const cutAt = Date.now();
            l.cut('sync');
            await until(() => eventCount(pair.b, 'DeviceBlocked') > blockedBefore, 'node-b to block after the sync cut', 90_000, 100);
            syncCut.blockedMs = Date.now() - cutAt;
            return `node-b blocked ${syncCut.blockedMs} ms after the cut`;
          },
          // Restores the sync link; answers once node-a finished the resync and node-b serves again.
          'restore-sync': async () => {
            const [resyncedBefore, unblockedBefore] = [eventCount(pair.a, 'ResyncCompleted'), eventCount(pair.b, 'DeviceUnblocked')];
            const restoredAt = Date.now();
            l.restore('sync');
            await until(() => eventCount(pair.a, 'ResyncCompleted') > resyncedBefore && eventCount(pair.b, 'DeviceUnblocked') > unblockedBefore,
              'the resync to finish and node-b to serve again', 180_000, 100);
            syncCut.healedMs = Date.now() - restoredAt;
            return `resynced, node-b serving ${syncCut.healedMs} ms after the restore`;
          },
        },
        targetLogs: () => `node-a:\n${pair.a.log.slice(-1500)}\nnode-b:\n${pair.b.log.slice(-1500)}`,
      });
    }, BOOT_LIMIT_MS + 3 * 60_000);

    afterAll(async () => {
      if (nodes) await Promise.all([stopNode(nodes.a), stopNode(nodes.b)]);
      lab?.teardown();
      if (groupPassed(run)) removeDir(dir);
      else if (dir) console.warn(`host tier: the guest's share (console.log, init.log, scenario.log, logs/) is kept in ${dir}/share`);
    });

    it('runs the whole scenario and powers off within the time limit', () => {
      run.expectCompleted();
    });

    it('logs in to both nodes and multipath -ll shows one map with a path per node', () => {
      for (const n of ['node-a', 'node-b']) run.expectOk(`${n}-login`);
      expect(run.expectOk('paths-found').value).toMatch(/node-a=sd\w+ node-b=sd\w+/);
      run.expectOk('multipathd-start');
      expect(run.expectOk('multipath-map').output).toMatch(/TANDEM,vDisk/);
      run.expectOk('one-map');
      // multipathd set the guide's fast_io_fail_tmo as both sessions' recovery timeout.
      expect(run.expectOk('session-recovery-tmo').value?.trim()).toBe('5');
    });

    it('groups the paths by ALUA state: node-a optimized and active, node-b non-optimized and waiting', () => {
      run.expectOk('optimized-group-is-node-a');
      run.expectOk('non-optimized-group-is-node-b');
      expect(run.expectOk('multipath-map').output).toMatch(/hwhandler='1 alua'/);
    });

    it('sends I/O only to the optimized path group, and fio verifies through the map', () => {
      run.expectOk('fio-through-map');
      run.expectOk('io-only-on-optimized');
    });

    /** The longest write fio reported in a check's value, in ms. */
    const longestWriteMs = (check: string) => {
      const m = /lat \((usec|msec)\): min=[\d.]+k?, max=([\d.]+)(k?)/.exec(run.expectOk(check).value ?? '');
      expect(m).not.toBeNull();
      return (Number(m![2]) * (m![3] === 'k' ? 1000 : 1)) / (m![1] === 'usec' ? 1000 : 1);
    };

    it('keeps fio free of I/O errors while node-a is killed with kill -9, and serves through node-b after', () => {
      expect(killedAt).toBeGreaterThan(0);
      run.expectOk('fio-survives-kill-9');
      run.expectOk('map-reads-after-kill');
      // The stall is bounded by the 5 s recovery timeout multipathd set (docs/hosts.md), then node-b's path carries the I/O.
      expect(longestWriteMs('failover-longest-write')).toBeLessThan(20_000);
    });

    it('reinstates node-a\'s path once it is back and resynced, and reads everything back through it alone', () => {
      run.expectOk('node-a-restarted');
      expect(run.expectOk('path-reinstated').output).toMatch(/prio=50 status=active/);
      expect(run.expectOk('node-b-killed-for-verify').value).toBe('killed node-b');
      run.expectOk('verify-through-node-a');
    });

    it('takes node-b back as an equal: restarted with both paths optimized, multipath puts them in one group', () => {
      expect(run.expectOk('node-b-restarted-optimized').value).toBe('started node-b optimized');
      run.expectOk('both-paths-active');
    });

    it('a cut sync link (heartbeat up) blocks node-b; multipath moves I/O off its path with no error to fio', () => {
      // Both paths carried writes before the cut (symmetric ALUA, service-time selector).
      expect(run.expectOk('io-on-both-before-cut').value).toMatch(/node-a path [1-9]\d*, node-b path [1-9]\d*/);
      expect(run.expectOk('sync-cut').value).toMatch(/^node-b blocked \d+ ms after the cut$/);
      expect(syncCut.blockedMs).toBeGreaterThan(0);
      // The blocked node answers NOT READY (ALUA unavailable): its path is failed while node-a's carries the I/O.
      run.expectOk('node-b-path-failed');
      run.expectOk('node-a-path-during-cut');
      run.expectOk('no-io-on-node-b-while-blocked');
      run.expectOk('fio-survives-sync-cut');
      // Bounded by multipathd's checker: when node-b's REPORT TARGET PORT GROUPS calls node-a's group unavailable,
      // node-a's path is failed as well until the checker reinstates it (docs/conformance.md), the I/O queued meanwhile.
      expect(longestWriteMs('synccut-longest-write')).toBeLessThan(25_000);
    });

    it('the restored link resyncs node-b, both paths come back, and node-b alone reads every block written during the cut', () => {
      expect(run.expectOk('sync-restored').value).toMatch(/^resynced, node-b serving \d+ ms after the restore$/);
      run.expectOk('both-paths-back');
      run.expectOk('verify-through-node-b-path');
    });
  });
}
