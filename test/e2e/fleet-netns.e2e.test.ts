// The control plane across network namespaces: orchestrator and gateway here (root namespace), one node agent per
// namespace ("host" a and b), all real processes on the real Postgres and a private nats-server. A real split-brain
// (sync and heartbeat cut, different data written through each node, links healed) shows as SPLIT_BRAIN with its
// evidence and a SplitBrain alert, and resolveSplitBrain through GraphQL brings the survivor's data back on both
// replicas. Two sync links per partner: a 6 ms delay each way (netem, or delaying relays where the kernel has no
// netem) raises SyncLatencyHigh (cleared when removed); one cut link raises SyncLinkDown while the device stays ONLINE
// and I/O goes on (cleared when restored).
import { Fleet, USER_ERRORS, type AgentSpec } from '../support/fleet';
import { PrivateNats } from '../support/natsServer';
import { DelayProxy } from '../support/delayProxy';
import { NetnsLab, netemUnavailable, netnsUnavailable, type LabHost } from '../support/netns';
import { httpGet, parsePrometheus, sampleValue, until } from '@tandem/testing';
import { qemuIo } from '../support/qemuIo';
import { missingServices } from '../support/services';
import { missingBinaries, skipWithReason } from '../support/tools';

const TITLE = 'fleet across network namespaces: split-brain, slow and cut sync links through the control plane';
const MiB = 1 << 20;
const missing = missingBinaries(['nats-server', 'qemu-io', 'tc']);
const skip = netnsUnavailable() ?? missingServices({ postgres: true }) ?? (missing.length ? `missing ${missing.join(', ')}` : undefined);

interface Alert {
  kind: string;
  severity: string;
  active: boolean;
  subject: { kind: string; name: string };
  message: string;
  evidence: Record<string, unknown>;
}
interface Device {
  state: string;
  synchronizedCopies: number;
  health: { reasons: string[]; splitBrainEvidence: string[] };
  replicas: { node: { name: string }; iscsiUrl: string | null; ha: { blocked: boolean; partners: { state: string }[] } | null }[];
}
interface View {
  device: Device;
  alerts: Alert[];
  history: Alert[];
}
const VIEW = `query($id: ID!) {
  device(id: $id) { state synchronizedCopies health { reasons splitBrainEvidence } replicas { node { name } iscsiUrl ha { blocked partners { state } } } }
  alerts(active: true) { edges { node { kind severity active subject { kind name } message evidence } } }
  history: alerts(subject: $id) { edges { node { kind severity active subject { kind name } message evidence } } } }`;
type Edges<T> = { edges: { node: T }[] };

/** Milliseconds since `from`, for the transition log. */
const since = (from: number) => Date.now() - from;

if (skip) skipWithReason(TITLE, skip);
else
  describe(TITLE, () => {
    const nats = new PrivateNats();

    beforeAll(() => nats.start(), 60_000);
    afterAll(() => nats.stop(), 30_000);

    /** A lab, a control plane on the private NATS and an agent per namespace, and a HA device across them, ONLINE. */
    function haFleet(options: { sync2?: boolean }) {
      const ctx = { lab: new NetnsLab(options), fleet: undefined as unknown as Fleet, deviceId: '', nodes: new Map<string, string>() };
      const view = async (): Promise<View> => {
        const v = await ctx.fleet.gql<{ device: Device; alerts: Edges<Alert>; history: Edges<Alert> }>(VIEW, { id: ctx.deviceId });
        return { device: v.device, alerts: v.alerts.edges.map((e) => e.node), history: v.history.edges.map((e) => e.node) };
      };
      const url = (v: View, node: string) => v.device.replicas.find((r) => r.node.name === node)!.iscsiUrl!;

      beforeAll(async () => {
        ctx.lab.setup();
        ctx.fleet = new Fleet({}, { natsUrl: nats.url() });
        await ctx.fleet.startControlPlane();
        for (const key of ['a', 'b'] as const) {
          const h = ctx.lab[key];
          const spec: AgentSpec = {
            name: `node-${key}`,
            netns: h.ns,
            natsUrl: nats.url(h.gateway),
            iscsi: { host: h.front, port: 3260 },
            http: { host: h.front, port: 9180 },
            sync: [h.sync, ...(h.sync2 ? [h.sync2] : [])].map((host) => ({ host, port: 7400 })),
            heartbeat: [{ host: h.heartbeat, port: 7401 }],
          };
          await ctx.fleet.startAgent(spec);
        }
        const { clusterId, nodes } = await ctx.fleet.cluster();
        ctx.nodes = nodes;
        ctx.deviceId = (await ctx.fleet.gql<{ createHaDevice: { aggregateId: string } }>(
          `mutation($i: CreateHaDeviceInput!) { createHaDevice(input: $i) { aggregateId ${USER_ERRORS} } }`,
          { i: { clusterId, name: 'ha-netns', sizeBytes: 64 * MiB, replicas: [{ nodeId: nodes.get('node-a'), priority: 200 }, { nodeId: nodes.get('node-b'), priority: 100 }], strategy: 'HEARTBEAT', initialSync: 'CLEAR_BOTH' } },
        )).createHaDevice.aggregateId;
        const created = Date.now();
        await until(async () => {
          const v = await view();
          return v.device.state === 'ONLINE' && v.alerts.length === 0;
        }, 'the HA device ONLINE with no alert', 120_000, 250);
        console.log(`HA device ONLINE with no alert ${since(created)} ms after createHaDevice`);
      }, 420_000);

      afterAll(async () => {
        await ctx.fleet?.dispose();
        ctx.lab.teardown();
      }, 120_000);

      return { ctx, view, url };
    }

    describe('split-brain', () => {
      const { ctx, view, url } = haFleet({});

      it('a real split shows as SPLIT_BRAIN with evidence and an alert; resolveSplitBrain keeps the survivor on both replicas', async () => {
        const { lab, fleet } = ctx;
        const online = await view();
        const [urlA, urlB] = [url(online, 'node-a'), url(online, 'node-b')];
        const times: Record<string, number> = {};

        // Sync and heartbeat cut: each node presumes the other dead and serves alone.
        lab.cut('sync');
        lab.cut('heartbeat');
        const cutAt = Date.now();
        await until(async () => {
          const v = await view();
          const alone = v.device.replicas.every((r) => r.ha && !r.ha.blocked && r.ha.partners.every((p) => p.state === 'NOT_SYNCHRONIZED'));
          return alone && v.device.state === 'DEGRADED';
        }, 'both replicas serving alone (DEGRADED, neither blocked)', 60_000, 250);
        times['cut → both alone, DEGRADED'] = since(cutAt);
        const wroteA = await qemuIo(urlA, ['write -P 0xaa 0 1M'], 60_000);
        const wroteB = await qemuIo(urlB, ['write -P 0xbb 0 1M'], 60_000);
        expect([wroteA.ok, wroteA.out]).toEqual([true, expect.stringMatching(/wrote 1048576\/1048576 bytes/)]);
        expect([wroteB.ok, wroteB.out]).toEqual([true, expect.stringMatching(/wrote 1048576\/1048576 bytes/)]);

        lab.restore('heartbeat');
        lab.restore('sync');
        const healedAt = Date.now();
        const split = await until(async () => {
          const v = await view();
          if (v.device.state === 'SPLIT_BRAIN') times['heal → SPLIT_BRAIN'] ??= since(healedAt);
          return v.device.state === 'SPLIT_BRAIN' && v.alerts.some((x) => x.kind === 'SplitBrain') ? v : undefined;
        }, 'SPLIT_BRAIN and a SplitBrain alert', 60_000, 250);
        times['heal → SplitBrain alert'] = since(healedAt);
        expect(split.device.health.splitBrainEvidence.length).toBeGreaterThan(0);
        expect(split.device.health.splitBrainEvidence.join('\n')).toMatch(/generations diverged/);
        const alert = split.alerts.find((x) => x.kind === 'SplitBrain')!;
        expect(alert).toMatchObject({ severity: 'CRITICAL', subject: { kind: 'DEVICE', name: 'ha-netns' } });
        expect(alert.message).toMatch(/SPLIT_BRAIN.*generations diverged/);

        // The operator keeps node-a's data through the control plane.
        const resolvedAt = Date.now();
        await fleet.gql(`mutation($i: ResolveSplitBrainInput!) { resolveSplitBrain(input: $i) { aggregateId ${USER_ERRORS} } }`, { i: { deviceId: ctx.deviceId, survivorNodeId: ctx.nodes.get('node-a') } });
        const back = await until(async () => {
          const v = await view();
          if (!v.alerts.some((x) => x.kind === 'SplitBrain')) times['resolve → SplitBrain alert cleared'] ??= since(resolvedAt);
          if (v.device.state === 'ONLINE') times['resolve → ONLINE'] ??= since(resolvedAt);
          return v.device.state === 'ONLINE' && v.alerts.length === 0 ? v : undefined;
        }, 'ONLINE with every alert cleared after resolveSplitBrain', 120_000, 250);
        console.log(`split-brain transitions (ms): ${JSON.stringify(times)}`);
        expect(back.history.find((x) => x.kind === 'SplitBrain')).toMatchObject({ active: false });
        expect(back.device.synchronizedCopies).toBe(2);

        // The survivor's data is what both replicas hold.
        for (const u of [urlA, urlB]) {
          const read = await qemuIo(u, ['read -P 0xaa 0 1M'], 60_000);
          expect([u, read.ok, read.out]).toEqual([u, true, expect.stringMatching(/read 1048576\/1048576 bytes/)]);
        }
      }, 600_000);
    });

    describe('two sync links per partner', () => {
      const { ctx, view, url } = haFleet({ sync2: true });
      const linksUp = async (node: 'a' | 'b') => {
        const res = await httpGet(`http://${ctx.lab[node].front}:9180/metrics`);
        return sampleValue(parsePrometheus(res.body), 'tandem_ha_sync_links_up', { device: ctx.deviceId });
      };
      const alertOf = (v: View, kind: string) => v.alerts.filter((x) => x.kind === kind);
      /** The view once an alert of `kind` is active. */
      const raised = (kind: string) =>
        until(async () => {
          const v = await view();
          return alertOf(v, kind).length > 0 ? v : undefined;
        }, `a ${kind} alert`, 60_000, 250);

      // Where the kernel has no netem, a second device mirrors through delaying relays (in each namespace, on each
      // sync address) that the test slows down instead: the alert is judged per pair of nodes over all their devices.
      const noNetem = netemUnavailable();
      const relays: DelayProxy[] = [];
      let slowDeviceId = '';
      const slowState = async () => (await ctx.fleet.gql<{ device: { state: string } }>('query($id: ID!) { device(id: $id) { state } }', { id: slowDeviceId })).device.state;
      beforeAll(async () => {
        const through = (h: LabHost) => [h.sync, h.sync2!].map((host) => ({ host, port: 7500 }));
        for (const key of ['a', 'b'] as const) {
          const relay = new DelayProxy(ctx.lab.exec(key), through(ctx.lab[key]).map((at) => [at, { host: at.host, port: 7400 }]));
          relays.push(relay);
          await relay.start();
        }
        const replicas = (['a', 'b'] as const).map((key, i) => ({ nodeId: ctx.nodes.get(`node-${key}`), priority: 200 - 100 * i, ...(noNetem ? { syncAddresses: through(ctx.lab[key]) } : {}) }));
        const { clusterId } = (await ctx.fleet.gql<{ devices: Edges<{ clusterId: string }> }>('{ devices(first: 1) { edges { node { clusterId } } } }')).devices.edges[0].node;
        slowDeviceId = (await ctx.fleet.gql<{ createHaDevice: { aggregateId: string } }>(
          `mutation($i: CreateHaDeviceInput!) { createHaDevice(input: $i) { aggregateId ${USER_ERRORS} } }`,
          { i: { clusterId, name: 'ha-slow', sizeBytes: 16 * MiB, replicas, strategy: 'HEARTBEAT', initialSync: 'CLEAR_BOTH' } },
        )).createHaDevice.aggregateId;
        await until(async () => (await slowState()) === 'ONLINE' && (await view()).alerts.length === 0, 'the second HA device ONLINE with no alert', 120_000, 250);
      }, 240_000);
      afterAll(() => Promise.all(relays.map((r) => r.stop())), 30_000);

      it('both sync links carry the mirror', async () => {
        await until(async () => (await linksUp('a')) === 2 && (await linksUp('b')) === 2, 'both sync links up on both nodes', 60_000, 250);
      }, 120_000);

      it(`a slow sync link (${noNetem ? 'a delaying relay: no netem here' : 'netem'}) raises SyncLatencyHigh with the measured RTT, cleared without the delay`, async () => {
        const { lab } = ctx;
        const times: Record<string, number> = {};
        // 6 ms each way on both links: every link's round trip is over 12 ms.
        const slow = async (ms: number) => {
          if (noNetem) return void (await Promise.all(relays.map((r) => r.setDelay(ms))));
          for (const link of ['sync', 'sync2'] as const) (ms ? lab.delay(link, ms) : lab.undelay(link));
        };
        await slow(6);
        const delayedAt = Date.now();
        const slowView = await raised('SyncLatencyHigh');
        times['delay → SyncLatencyHigh'] = since(delayedAt);
        const latency = alertOf(slowView, 'SyncLatencyHigh')[0];
        expect(latency.subject.kind).toBe('LINK');
        expect(latency.subject.name).toMatch(/^node-[ab] > node-[ab]$/);
        expect(latency.evidence.rttMicros).toBeGreaterThan(5000);
        expect([slowView.device.state, await slowState()]).toEqual(['ONLINE', 'ONLINE']);
        console.log(`SyncLatencyHigh: ${latency.message}; evidence ${JSON.stringify(latency.evidence)}`);

        await slow(0);
        const undelayedAt = Date.now();
        await until(async () => alertOf(await view(), 'SyncLatencyHigh').length === 0, 'SyncLatencyHigh cleared', 60_000, 250);
        times['undelay → SyncLatencyHigh cleared'] = since(undelayedAt);
        console.log(`sync latency transitions (ms): ${JSON.stringify(times)}`);
      }, 300_000);

      it('one of two sync links cut raises SyncLinkDown while the device stays ONLINE and I/O goes on; restored, it clears', async () => {
        const { lab } = ctx;
        const times: Record<string, number> = {};
        await until(async () => (await linksUp('a')) === 2 && alertOf(await view(), 'SyncLinkDown').length === 0, 'both sync links up, no SyncLinkDown', 60_000, 250);
        lab.cut('sync2');
        const cutAt = Date.now();
        const down = await raised('SyncLinkDown');
        times['cut sync2 → SyncLinkDown'] = since(cutAt);
        expect(alertOf(down, 'SyncLinkDown')[0]).toMatchObject({ subject: { kind: 'LINK' }, message: expect.stringMatching(/a link is down/) });
        expect(JSON.stringify(alertOf(down, 'SyncLinkDown')[0].evidence)).toMatch(/1 of 2 up/);
        expect(down.device.state).toBe('ONLINE');
        const [urlA, urlB] = [url(down, 'node-a'), url(down, 'node-b')];
        const io = await qemuIo(urlA, ['write -P 0x3c 0 8M', 'read -P 0x3c 0 8M'], 120_000);
        expect([io.ok, io.out]).toEqual([true, expect.stringMatching(/wrote 8388608\/8388608 bytes[\s\S]*read 8388608\/8388608 bytes/)]);
        const mirrored = await qemuIo(urlB, ['read -P 0x3c 0 8M'], 120_000);
        expect([mirrored.ok, mirrored.out]).toEqual([true, expect.stringMatching(/read 8388608\/8388608 bytes/)]);
        const during = await view();
        expect([during.device.state, await slowState(), alertOf(during, 'DeviceDegraded')]).toEqual(['ONLINE', 'ONLINE', []]);
        expect(await linksUp('a')).toBe(1);

        lab.restore('sync2');
        const restoredAt = Date.now();
        await until(async () => {
          const v = await view();
          return alertOf(v, 'SyncLinkDown').length === 0 && v.device.state === 'ONLINE';
        }, 'SyncLinkDown cleared', 60_000, 250);
        times['restore sync2 → SyncLinkDown cleared'] = since(restoredAt);
        console.log(`sync link transitions (ms): ${JSON.stringify(times)}`);
        expect(await linksUp('a')).toBe(2);
        expect((await view()).alerts).toEqual([]);
      }, 300_000);
    });
  });
