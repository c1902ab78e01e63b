// The Linux kernel initiator with dm-multipath against a HA pair of real `tandem serve --config` nodes (asymmetric
// ALUA: node-a optimized): one map with a path per node, I/O on the optimized group only, fio with crc32c verify
// through the map while node-a is killed with kill -9, node-a's return and resync, and a read-back through node-a
// alone. One boot for the group.
import { prepareGuestImage } from '../support/guest';
import { makeTempDir, MiB, removeDir } from '../support/files';
import { HA_IQN, haPair, HaNode, kill9, startNode, stopNode } from '../support/haPair';
import { skipWithReason } from '../support/tools';
import { groupPassed, GroupRun, runScenarioGroup } from './scenarioGroup';

const BOOT_LIMIT_MS = 20 * 60_000;
const image = prepareGuestImage();

if ('reason' in image) {
  describe('Linux kernel initiator, HA pair through dm-multipath', () => skipWithReason('Linux kernel initiator, HA pair through dm-multipath', image.reason));
} else {
  describe(`Linux kernel initiator ${image.versions.kernel}, HA pair through dm-multipath`, () => {
    let dir: string;
    let nodes: { a: HaNode; b: HaNode } | undefined;
    let run: GroupRun;
    let killedAt = 0;

    beforeAll(async () => {
      dir = makeTempDir('tandem-host-ha-');
      const pair = await haPair({ dir, sizeBytes: 64 * MiB, asymmetric: true });
      nodes = { a: pair.a, b: pair.b };
      await Promise.all([startNode(pair.a), startNode(pair.b)]);
      run = await runScenarioGroup({
        name: 'linux-ha',
        image,
        dir,
        scenarioFile: 'linux-ha.scenario.sh',
        params: { IQN: HA_IQN, PORT_A: pair.a.iscsiPort, PORT_B: pair.b.iscsiPort },
        timeoutMs: BOOT_LIMIT_MS,
        handlers: {
          start: async (name) => {
            await startNode(name === 'node-a' ? pair.a : pair.b, 60_000);
            return `started ${name}`;
          },
          kill: async (name) => {
            const node = name === 'node-a' ? pair.a : pair.b;
            await kill9(node);
            killedAt = Date.now();
            return `killed ${name}`;
          },
        },
        targetLogs: () => `node-a:\n${pair.a.log.slice(-1500)}\nnode-b:\n${pair.b.log.slice(-1500)}`,
      });
    }, BOOT_LIMIT_MS + 3 * 60_000);

    afterAll(async () => {
      if (nodes) await Promise.all([stopNode(nodes.a), stopNode(nodes.b)]);
      if (groupPassed(run)) removeDir(dir);
      // eslint-disable-next-line no-console
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

    it('keeps fio free of I/O errors while node-a is killed with kill -9, and serves through node-b after', () => {
      expect(killedAt).toBeGreaterThan(0);
      run.expectOk('fio-survives-kill-9');
      run.expectOk('map-reads-after-kill');
      // The stall is bounded by the 5 s recovery timeout multipathd set (docs/hosts.md), then node-b's path carries the I/O.
      const m = /lat \((usec|msec)\): min=[\d.]+k?, max=([\d.]+)(k?)/.exec(run.expectOk('failover-longest-write').value ?? '');
      expect(m).not.toBeNull();
      const maxMs = Number(m![2]) * (m![3] === 'k' ? 1000 : 1) / (m![1] === 'usec' ? 1000 : 1);
      expect(maxMs).toBeLessThan(20_000);
    });

    it('reinstates node-a\'s path once it is back and resynced, and reads everything back through it alone', () => {
      run.expectOk('node-a-restarted');
      expect(run.expectOk('path-reinstated').output).toMatch(/prio=50 status=active/);
      expect(run.expectOk('node-b-killed-for-verify').value).toBe('killed node-b');
      run.expectOk('verify-through-node-a');
    });
  });
}
