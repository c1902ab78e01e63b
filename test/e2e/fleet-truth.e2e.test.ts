// The control plane tells the truth about a fault within seconds: orchestrator, gateway and two node agents as
// separate processes on the real Postgres and NATS. Killing (kill -9) the agent that holds a single-replica device
// and one replica of a HA device shows, through GraphQL, the node UNREACHABLE, the HA device DEGRADED naming the
// replica, the single device OFFLINE and their alerts (on an alertChanged subscription and in JetStream); restarted,
// the node resyncs (RESYNCING with progress) back to ONLINE and every alert clears. Then an orchestrator restart and a
// rebuild of the read models from the log give identical tables, with no alert raised twice.
import { createClient, type Client as WsClient } from 'graphql-ws';
import { AckPolicy, DeliverPolicy, connect } from 'nats';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { Fleet, POSTGRES_URL, USER_ERRORS, type AgentSpec } from '../support/fleet';
import { type Family, freePort, histogram, httpGet, parsePrometheus, run, sampleValue, until } from '@tandem/testing';
import { missingServices } from '../support/services';
import { TANDEM_BIN } from '../support/target';
import { missingBinaries, skipWithReason } from '../support/tools';

const TITLE = 'fleet truth: liveness, device health and alerts after kill -9 of an agent';
const MiB = 1 << 20;
const skip = missingServices({ postgres: true, nats: true }) ?? (missingBinaries(['qemu-io']).length ? `missing ${missingBinaries(['qemu-io']).join(', ')}` : undefined);

interface View {
  nodes: { id: string; name: string; health: string | null; healthReasons: string[] }[];
  devices: { id: string; name: string; state: string; synchronizedCopies: number; replicaCount: number; replicas: { node: { name: string }; iscsiUrl: string | null }[]; health: { reasons: string[]; resyncs: { doneBytes: number; totalBytes: number; bytesPerSecond: number | null; etaSeconds: number | null }[] } }[];
  alerts: { kind: string; severity: string; subject: { kind: string; name: string }; message: string }[];
}
const VIEW = `{ storageNodes { edges { node { id name health healthReasons } } }
  devices { edges { node { id name state synchronizedCopies replicaCount replicas { node { name } iscsiUrl } health { reasons resyncs { doneBytes totalBytes bytesPerSecond etaSeconds } } } } }
  alerts(active: true) { edges { node { kind severity subject { kind name } message } } } }`;
type Edges<T> = { edges: { node: T }[] };
const nodesOf = <T>(c: Edges<T>): T[] => c.edges.map((e) => e.node);

if (skip) skipWithReason(TITLE, skip);
else
  describe(TITLE, () => {
    // A resync slow enough to be watched: 12 MiB/s, progress reported twice a second.
    const fleet = new Fleet({ TANDEM_NODE_RESYNC_MIB_PER_SECOND: '12', TANDEM_RESYNC_PROGRESS_REPORT_MS: '500' });
    const octet = 60 + (process.pid % 30);
    const specs: Record<'a' | 'b', AgentSpec> = {} as never;
    let ws: WsClient | undefined;
    const view = async (): Promise<View> => {
      const v = await fleet.gql<{ storageNodes: Edges<View['nodes'][number]>; devices: Edges<View['devices'][number]>; alerts: Edges<View['alerts'][number]> }>(VIEW);
      return { nodes: nodesOf(v.storageNodes), devices: nodesOf(v.devices), alerts: nodesOf(v.alerts) };
    };

    beforeAll(async () => {
      const [iscsi, http, sync, heartbeat] = [await freePort(), await freePort(), await freePort(), await freePort()];
      // Heartbeats on addresses of their own, as in production: no HeartbeatSharesSyncLink alert.
      for (const [key, i] of [['a', 1], ['b', 2]] as const) {
        specs[key] = { name: `node-${key}`, iscsi: { host: `127.0.${octet}.${i}`, port: iscsi }, http: { host: `127.0.${octet}.${i}`, port: http }, sync: [{ host: `127.0.${octet}.${i}`, port: sync }], heartbeat: [{ host: `127.0.${octet}.${i + 10}`, port: heartbeat }] };
      }
      await fleet.startControlPlane();
      await fleet.startAgent(specs.a);
      await fleet.startAgent(specs.b);
    }, 240_000);

    afterAll(async () => {
      await ws?.dispose();
      await fleet.dispose();
    }, 120_000);

    it('shows the fault within seconds, the resync, and the return to ONLINE; a restart and a rebuild agree', async () => {
      const { clusterId, nodes } = await fleet.cluster();
      const [a, b] = [nodes.get('node-a')!, nodes.get('node-b')!];
      const ha = (await fleet.gql<{ createHaDevice: { aggregateId: string } }>(
        `mutation($i: CreateHaDeviceInput!) { createHaDevice(input: $i) { aggregateId ${USER_ERRORS} } }`,
        { i: { clusterId, name: 'ha-disk', sizeBytes: 256 * MiB, replicas: [{ nodeId: a, priority: 200 }, { nodeId: b, priority: 100 }], strategy: 'HEARTBEAT', initialSync: 'CLEAR_BOTH' } },
      )).createHaDevice.aggregateId;
      const single = (await fleet.gql<{ createDevice: { aggregateId: string } }>(
        `mutation($i: CreateDeviceInput!) { createDevice(input: $i) { aggregateId ${USER_ERRORS} } }`,
        { i: { clusterId, name: 'single-disk', sizeBytes: 64 * MiB, replicas: [{ nodeId: b, priority: 100 }] } },
      )).createDevice.aggregateId;
      const device = (v: View, id: string) => v.devices.find((d) => d.id === id)!;
      const node = (v: View, name: string) => v.nodes.find((n) => n.name === name)!;
      let last: View | undefined;
      await until(async () => {
        const v = (last = await view());
        return device(v, ha)?.state === 'ONLINE' && device(v, single)?.state === 'ONLINE' && node(v, 'node-b').health === 'OK' && v.alerts.length === 0;
      }, 'both devices ONLINE, both nodes OK and no alert', 90_000, 250).catch((e: Error) => {
        throw new Error(`${e.message}; last seen: ${JSON.stringify(last)}`);
      });
      // Starting up raised no false alarm, not even one raised and cleared since.
      expect(nodesOf((await fleet.gql<{ alerts: Edges<{ kind: string; subject: { name: string } }> }>('{ alerts { edges { node { kind subject { name } } } } }')).alerts)).toEqual([]);
      const before = await view();
      expect(device(before, ha)).toMatchObject({ synchronizedCopies: 2, replicaCount: 2 });

      // Live followers before the fault: a GraphQL subscription.
      const changes: { event: { type: string }; alert: { kind: string; subject: { name: string } } | null }[] = [];
      ws = createClient({ url: fleet.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${fleet.token}` }, retryAttempts: 0 });
      await new Promise<void>((resolve, reject) => {
        ws!.subscribe<{ alertChanged: (typeof changes)[number] }>(
          { query: 'subscription { alertChanged { event { type } alert { kind subject { name } } } }' },
          { next: (m) => m.data && changes.push(m.data.alertChanged), error: reject, complete: () => undefined },
        );
        ws!.on('connected', () => setTimeout(resolve, 500));
      });

      // kill -9 of node-b: it holds the single replica and one HA replica.
      await fleet.agents.get('node-b')!.kill9();
      const killedAt = Date.now();
      const seen: Record<string, number> = {};
      const mark = (what: string, holds: boolean) => holds && seen[what] === undefined && (seen[what] = Date.now() - killedAt);
      const truth = await until(async () => {
        const v = await view();
        mark('node-b UNREACHABLE', node(v, 'node-b').health === 'UNREACHABLE');
        mark('HA device DEGRADED', device(v, ha).state === 'DEGRADED');
        mark('single device OFFLINE', device(v, single).state === 'OFFLINE');
        for (const kind of ['NodeUnreachable', 'DeviceDegraded', 'DeviceOffline']) mark(`${kind} alert`, v.alerts.some((x) => x.kind === kind));
        return Object.keys(seen).length === 6 ? v : undefined;
      }, 'the fault to show in GraphQL', 60_000, 200);
      console.log(`after kill -9 of node-b (ms): ${JSON.stringify(seen)}`);
      for (const [what, ms] of Object.entries(seen)) expect([what, ms < 10_000]).toEqual([what, true]);
      expect(node(truth, 'node-b').healthReasons.join(' ')).toMatch(/has not heard it/);
      const degraded = device(truth, ha);
      expect(degraded.synchronizedCopies).toBe(1);
      expect(degraded.health.reasons.join(' ')).toMatch(/^node-b: /);
      expect(truth.alerts.find((x) => x.kind === 'DeviceDegraded')).toMatchObject({ subject: { kind: 'DEVICE', name: 'ha-disk' }, message: expect.stringContaining('node-b') });
      expect(truth.alerts.find((x) => x.kind === 'NodeUnreachable')).toMatchObject({ severity: 'CRITICAL', subject: { kind: 'NODE', name: 'node-b' } });
      await until(() => ['NodeUnreachable', 'DeviceDegraded', 'DeviceOffline'].every((k) => changes.some((c) => c.event.type === 'AlertRaised' && c.alert?.kind === k)), 'the three alerts on the alertChanged subscription', 20_000);

      // Every service's /metrics says the same (parsed as Prometheus text).
      const orchestratorMetrics = await metrics(`${fleet.orchestratorHttp}/metrics`);
      expect(sampleValue(orchestratorMetrics, 'tandem_alerts_active', { kind: 'NodeUnreachable' })).toBe(1);
      expect(sampleValue(orchestratorMetrics, 'tandem_nodes', { reachable: 'false' })).toBe(1);
      expect(sampleValue(orchestratorMetrics, 'tandem_projection_lag_events')).toBeGreaterThanOrEqual(0);
      const gatewayMetrics = await metrics(fleet.gatewayUrl.replace(/\/graphql$/, '/metrics'));
      expect(gatewayMetrics.get('tandem_graphql_request_duration_seconds')!.histograms.reduce((n, h) => n + h.count, 0)).toBeGreaterThan(0);
      const agentA = `http://${specs.a.http.host}:${specs.a.http.port}/metrics`;
      const writesBefore = histogram(await metrics(agentA), 'tandem_lu_write_latency_seconds', { device: ha })?.count ?? 0;

      // Writes while node-b is away: they are what the resync will copy.
      const urlA = degraded.replicas.find((r) => r.node.name === 'node-a')!.iscsiUrl!;
      const wrote = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 48M', urlA], { timeoutMs: 120_000 });
      expect(wrote.stderr).toBe('');
      expect(wrote.stdout).toMatch(/wrote 50331648\/50331648 bytes/);
      const writesAfter = histogram(await metrics(agentA), 'tandem_lu_write_latency_seconds', { device: ha })!;
      expect(writesAfter.count).toBeGreaterThan(writesBefore);

      await fleet.restartAgent(specs.b);
      const restartedAt = Date.now();
      const back: Record<string, number> = {};
      let progress: View['devices'][number]['health']['resyncs'][number] | undefined;
      const remaining: number[] = [];
      await until(async () => {
        const left = sampleValue(await metrics(agentA), 'tandem_ha_resync_remaining_bytes', { device: ha, partner: b });
        if (left !== undefined && left > 0 && left !== remaining[remaining.length - 1]) remaining.push(left);
        const v = await view();
        const d = device(v, ha);
        if (d.state === 'RESYNCING') {
          back.RESYNCING ??= Date.now() - restartedAt;
          if ((d.health.resyncs[0]?.doneBytes ?? 0) > 0) progress ??= d.health.resyncs[0];
        }
        if (d.state === 'ONLINE' && back.RESYNCING !== undefined) back.ONLINE ??= Date.now() - restartedAt;
        if (v.alerts.length === 0 && back.ONLINE !== undefined) back['alerts cleared'] ??= Date.now() - restartedAt;
        return back['alerts cleared'] !== undefined && device(v, single).state === 'ONLINE' && node(v, 'node-b').health === 'OK';
      }, 'RESYNCING, then ONLINE with every alert cleared', 120_000, 200);
      console.log(`after restarting node-b (ms): ${JSON.stringify(back)}; resync progress seen: ${JSON.stringify(progress)}`);
      expect(progress).toMatchObject({ totalBytes: expect.any(Number) });
      expect(progress!.doneBytes).toBeGreaterThan(0);
      expect(progress!.doneBytes).toBeLessThanOrEqual(progress!.totalBytes);
      // node-a's /metrics saw the resync's remaining bytes go down.
      console.log(`resync bytes remaining on node-a's /metrics: ${remaining.join(' > ')}`);
      expect(remaining.length).toBeGreaterThanOrEqual(2);
      expect(remaining.every((v, i) => i === 0 || v < remaining[i - 1])).toBe(true);
      await until(() => ['NodeUnreachable', 'DeviceDegraded', 'DeviceOffline'].every((k) => changes.some((c) => c.event.type === 'AlertCleared' && c.alert?.kind === k)), 'the three clears on the subscription', 20_000);

      // What was written through node-a while node-b was dead is on node-b now.
      const urlB = device(await view(), ha).replicas.find((r) => r.node.name === 'node-b')!.iscsiUrl!;
      const read = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x5a 0 48M', urlB], { timeoutMs: 120_000 });
      expect(read.stdout).toMatch(/read 50331648\/50331648 bytes/);
      expect(read.stdout).not.toMatch(/Pattern verification failed/);

      // JetStream carries AlertRaised for each.
      const published = await alertEvents(fleet);
      for (const kind of ['NodeUnreachable', 'DeviceDegraded', 'DeviceOffline']) {
        expect([kind, published.filter((e) => e.type === 'AlertRaised' && e.kind === kind).length]).toEqual([kind, 1]);
        expect([kind, published.filter((e) => e.type === 'AlertCleared' && e.kind === kind).length]).toEqual([kind, 1]);
      }

      // An orchestrator restart judges nobody for one silence period, then finds the same truth: nothing written.
      const tables = async () => ({ alerts: await fleet.table('alerts', 'alert_id'), nodes: await fleet.table('nodes', 'node_id'), devices: await fleet.table('devices', 'device_id') });
      const raisedBefore = await observationCounts();
      await fleet.orchestrator.stop();
      const live = await tables();
      await fleet.startOrchestrator();
      await new Promise((resolve) => setTimeout(resolve, 9000)); // the 5 s warm-up and four rounds of judgement
      expect(await tables()).toEqual(live);
      expect(await observationCounts()).toEqual(raisedBefore);
      expect(await run('true', [], { timeoutMs: 1000 }).then(() => fleet.orchestrator.running)).toBe(true);

      // The read models rebuilt from the log are the same tables.
      await fleet.orchestrator.stop();
      const replayed = await run(process.execPath, [TANDEM_BIN, 'events', 'replay', '--database', POSTGRES_URL], { env: fleet.env, timeoutMs: 120_000 });
      expect(replayed.stderr).toBe('');
      expect(replayed.stdout).toMatch(/alerts/);
      expect(await tables()).toEqual(live);
    }, 600_000);

    /** Per alert stream, its transitions in order: they must alternate, starting with a raise. */
    async function observationCounts(): Promise<Record<string, string>> {
      const pg = new PgClient({ connectionString: POSTGRES_URL });
      await pg.connect();
      try {
        const rows = (await pg.query(`SELECT stream_id, string_agg(event_type, ',' ORDER BY stream_version) AS types FROM "${fleet.tag}".events WHERE stream_id LIKE 'alert-%' OR stream_id LIKE 'liveness-%' GROUP BY stream_id`)).rows as { stream_id: string; types: string }[];
        for (const r of rows) expect([r.stream_id, /(AlertRaised,AlertRaised|AlertCleared,AlertCleared|NodeUnreachable,NodeUnreachable|NodeReachable,NodeReachable)/.test(r.types)]).toEqual([r.stream_id, false]);
        return Object.fromEntries(rows.map((r) => [r.stream_id, r.types]));
      } finally {
        await pg.end();
      }
    }
  });

async function metrics(url: string): Promise<Map<string, Family>> {
  const res = await httpGet(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return parsePrometheus(res.body);
}

/** Every alert event the outbox published to the run's JetStream events stream. */
async function alertEvents(fleet: Fleet): Promise<{ type: string; kind: string }[]> {
  const nc = await connect({ servers: 'nats://127.0.0.1:4222', timeout: 3000 });
  try {
    const stream = fleet.env.TANDEM_EVENTS_STREAM as string;
    const jsm = await nc.jetstreamManager();
    const subject = `${fleet.tag}.tandem.evt.alert.>`;
    await until(async () => (await jsm.streams.info(stream)).state.messages > 0, 'the events stream to fill', 20_000);
    const name = `alerts_${fleet.tag}`;
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, filter_subject: subject });
    const consumer = await nc.jetstream().consumers.get(stream, name);
    const out: { type: string; kind: string }[] = [];
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 100, expires: 2000 });
      let n = 0;
      for await (const m of batch) {
        n++;
        const e = m.json<{ type: string; data: { kind: string } }>();
        out.push({ type: e.type, kind: e.data.kind });
      }
      if (n === 0) return out;
    }
  } finally {
    await nc.close();
  }
}
