/**
 * HA devices in the control plane against real Postgres and NATS: CreateHaDevice's rules (refusals write nothing),
 * the per-node HA settings the dispatcher sends and the desired-devices answer repeats, HA reports projected onto
 * the replicas, and ResolveSplitBrain travelling to the agents. The test plays the node agents.
 */
import { randomUUID } from 'crypto';
import { agentCommandsOfNodeSubject, agentDesiredDevicesSubject, agentReportSubject, type AgentReport } from '@tandem/contracts';
import { readNewestPosition } from '@tandem/event-store';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { CommandBus } from '../commands/commandBus';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { ReadModelProjector } from '../projections/readModelProjector';
import { readModelSnapshot } from '../projections/rebuildReadModels';
import { agentTestBed, decode, until } from '../testing/agentTestBed';
import { countEvents, describeWithInfrastructure } from '../testing/infrastructure';
import { AgentDispatcher } from './agentDispatcher';
import { AgentReportsConsumer } from './agentReportsConsumer';
import { DesiredDevicesResponder } from './desiredDevicesResponder';

const GiB = 2 ** 30;
const ADMIN = 'user:admin';

describeWithInfrastructure('HA devices (orchestrator side)', { nats: true }, (infra) => {
  const bed = agentTestBed(infra, 'h');
  const { at, ok, prefix } = bed;
  let db: OrchestratorDatabase;
  let nc: NatsConnection;
  let bus: CommandBus;
  let projector: ReadModelProjector;
  let reportsStream: string;
  beforeAll(() => {
    ({ db, nc, bus, projector, reportsStream } = bed);
  });

  /** A cluster of nodes registered with the given portal group tags; sync links unless `noSync`. */
  async function fleet(tags: number[], noSync = false): Promise<{ clusterId: string; nodeIds: string[] }> {
    const site = await ok('CreateSite', { name: `site-${randomUUID().slice(0, 8)}` });
    const cluster = await ok('CreateCluster', { siteId: site.aggregateId, name: 'c1' });
    const nodeIds: string[] = [];
    for (const [i, tag] of tags.entries()) {
      const nodeId = randomUUID();
      const host = `10.0.0.${i + 1}`;
      await ok('RegisterNode', {
        nodeId,
        name: `n-${nodeId.slice(0, 8)}`,
        version: '0.1.0',
        build: 'b1',
        portals: [{ host, portalGroupTag: tag }],
        syncAddresses: noSync ? [] : [{ host: `10.1.0.${i + 1}`, port: 3262 }],
        heartbeatAddresses: [{ host: `10.2.0.${i + 1}`, port: 3263 }],
        capacityBytes: 100 * GiB,
      });
      await ok('AddNodeToCluster', { nodeId, clusterId: cluster.aggregateId });
      nodeIds.push(nodeId);
    }
    return { clusterId: cluster.aggregateId, nodeIds };
  }

  function fakeAgent(nodeId: string): { received: { verb: string; body: Record<string, unknown> }[]; sub: Subscription } {
    const received: { verb: string; body: Record<string, unknown> }[] = [];
    const sub = nc.subscribe(at(agentCommandsOfNodeSubject(nodeId)), {
      callback: (_err, msg: Msg) => {
        const body = decode(msg.data);
        received.push({ verb: msg.subject.split('.').pop() as string, body });
        msg.respond(JSON.stringify({ ok: true, commandId: body.commandId, nodeId, changes: [] }));
      },
    });
    return { received, sub };
  }

  it('refuses HA devices it cannot wire, writing nothing', async () => {
    const same = await fleet([1, 1]);
    const good = await fleet([1, 2, 3]);
    const noSync = await fleet([1, 2], true);
    const base = { name: 'ha-x', sizeBytes: GiB };
    const cases: [string, object][] = [
      ['CONFLICT', { ...base, clusterId: same.clusterId, replicas: same.nodeIds.map((nodeId, i) => ({ nodeId, priority: i })) }],
      ['BAD_USER_INPUT', { ...base, clusterId: noSync.clusterId, replicas: noSync.nodeIds.map((nodeId, i) => ({ nodeId, priority: i })) }],
      ['BAD_USER_INPUT', { ...base, clusterId: good.clusterId, replicas: good.nodeIds.slice(0, 2).map((nodeId) => ({ nodeId, priority: 5 })) }],
      ['BAD_USER_INPUT', { ...base, clusterId: good.clusterId, replicas: [{ nodeId: good.nodeIds[0], priority: 1 }] }],
      ['BAD_USER_INPUT', { ...base, clusterId: good.clusterId, strategy: 'node-majority', replicas: good.nodeIds.slice(0, 2).map((nodeId, i) => ({ nodeId, priority: i })) }],
      ['BAD_USER_INPUT', { ...base, clusterId: good.clusterId, initialSync: 'SYNC_FROM', syncFromNodeId: good.nodeIds[0], replicas: good.nodeIds.map((nodeId, i) => ({ nodeId, priority: i })) }],
      ['BAD_USER_INPUT', { ...base, clusterId: good.clusterId, initialSync: 'SYNC_FROM', replicas: good.nodeIds.slice(0, 2).map((nodeId, i) => ({ nodeId, priority: i })) }],
    ];
    const before = await countEvents(db);
    for (const [code, payload] of cases) {
      const reply = await bus.execute({ type: 'CreateHaDevice', payload }, ADMIN);
      expect({ payload, code: reply.ok ? 'accepted' : reply.error.code }).toEqual({ payload, code });
    }
    const sameGroup = await bus.execute({ type: 'CreateHaDevice', payload: cases[0][1] }, ADMIN);
    expect(sameGroup.ok ? '' : sameGroup.error.message).toMatch(/both present their paths as target port group 1/);
    expect(await countEvents(db)).toBe(before);
  });

  it('sends each replica node its HA settings (partners, port groups, initial sync roles); desired devices says the same', async () => {
    const { clusterId, nodeIds } = await fleet([1, 2]);
    const [a, b] = nodeIds;
    const agents = nodeIds.map(fakeAgent);
    const dispatcher = new AgentDispatcher(db, nc, { subjectPrefix: prefix, name: `ha-dispatch-${infra.runTag}`, requestTimeoutMs: 2000, pollIntervalMs: 20, log: () => undefined });
    const responder = new DesiredDevicesResponder(db, nc, projector, prefix);
    responder.start();
    dispatcher.start();
    try {
      const device = await ok('CreateHaDevice', {
        clusterId,
        name: 'ha-sql',
        sizeBytes: GiB,
        replicas: [
          { nodeId: a, priority: 200, syncAddresses: [{ host: '192.168.50.1', port: 3270 }] },
          { nodeId: b, priority: 100, paths: 'non-optimized' },
        ],
        initialSync: 'SYNC_FROM',
        syncFromNodeId: a,
      });
      await until(() => dispatcher.counts.done === 2, 'both creates');
      const [toA, toB] = agents.map((agent) => agent.received[0].body.device as { ha: Record<string, unknown> });
      expect(toA).toMatchObject({ deviceId: device.aggregateId, name: 'ha-sql', sizeBytes: GiB });
      expect(toA.ha).toMatchObject({
        priority: 200,
        portGroup: 1,
        paths: 'optimized',
        strategy: 'heartbeat',
        initialSync: 'source',
        partners: [{ nodeId: b, priority: 100, sync: [{ host: '10.1.0.2', port: 3262 }], heartbeat: [{ host: '10.2.0.2', port: 3263 }], portGroup: 2 }],
      });
      expect(toB.ha).toMatchObject({
        priority: 100,
        portGroup: 2,
        paths: 'non-optimized',
        initialSync: 'target',
        partners: [{ nodeId: a, priority: 200, sync: [{ host: '192.168.50.1', port: 3270 }], portGroup: 1 }],
      });
      expect(toA.ha.initialGeneration).toBe(toB.ha.initialGeneration);
      // A node that reconnects and asks gets exactly what the dispatcher sent.
      for (const [i, nodeId] of nodeIds.entries()) {
        const reply = decode((await nc.request(at(agentDesiredDevicesSubject(nodeId)), JSON.stringify({ nodeId }), { timeout: 5000 })).data);
        expect(reply.devices).toEqual([agents[i].received[0].body.device]);
      }

      // The administrator's split-brain decision reaches every replica's node; bad choices are refused.
      const plain = await ok('CreateDevice', { clusterId, name: 'plain', sizeBytes: GiB, replicas: [{ nodeId: a, priority: 1 }] });
      const notHa = await bus.execute({ type: 'ResolveSplitBrain', payload: { deviceId: plain.aggregateId, survivorNodeId: a } }, ADMIN);
      expect(notHa.ok ? 'accepted' : notHa.error.code).toBe('CONFLICT');
      const stranger = await bus.execute({ type: 'ResolveSplitBrain', payload: { deviceId: device.aggregateId, survivorNodeId: randomUUID() } }, ADMIN);
      expect(stranger.ok ? 'accepted' : stranger.error.code).toBe('BAD_USER_INPUT');
      await until(() => dispatcher.counts.done === 3, 'the plain create');
      await ok('ResolveSplitBrain', { deviceId: device.aggregateId, survivorNodeId: b });
      await until(() => dispatcher.counts.done === 5, 'both resolutions');
      for (const agent of agents) {
        expect(agent.received.filter((r) => r.verb === 'resolve-split-brain').map((r) => r.body)).toEqual([
          expect.objectContaining({ deviceId: device.aggregateId, survivorNodeId: b }),
        ]);
      }
    } finally {
      await dispatcher.stop();
      await responder.stop();
      for (const agent of agents) agent.sub.unsubscribe();
    }
  });

  it('projects the HA state each node reports onto its replica', async () => {
    const { clusterId, nodeIds } = await fleet([1, 2]);
    const [a, b] = nodeIds;
    const device = await ok('CreateHaDevice', { clusterId, name: 'ha-web', sizeBytes: GiB, replicas: [{ nodeId: a, priority: 2 }, { nodeId: b, priority: 1 }] });
    const deviceId = device.aggregateId;
    const consumer = new AgentReportsConsumer(db, nc, { stream: reportsStream, subjectPrefix: prefix, name: `ha-reports-${infra.runTag}`, retryDelayMs: 100, log: () => undefined });
    await consumer.start();
    const js = nc.jetstream();
    let sequence = 0;
    const ha = (event: Record<string, unknown>): AgentReport =>
      ({ reportId: randomUUID(), nodeId: a, sequence: ++sequence, occurredAt: new Date().toISOString(), type: 'HaStateChanged', data: { deviceId, event } }) as AgentReport;
    try {
      const reports = [
        ha({ type: 'PathStateChanged', portGroup: 1, state: 'optimized' }),
        ha({ type: 'ReplicaSynchronized', partnerNodeId: b }),
        ha({ type: 'ReplicaNotSynchronized', partnerNodeId: b, reason: 'sync links down (timeout)' }),
        ha({ type: 'ResyncStarted', partnerNodeId: b, direction: 'to-partner', kind: 'fast', bytes: 1048576 }),
        ha({ type: 'ResyncProgress', partnerNodeId: b, doneBytes: 524288, totalBytes: 1048576 }),
        ha({ type: 'DeviceBlocked', reason: 'split-brain: an operator must choose the survivor' }),
        ha({ type: 'SplitBrainDetected', partnerNodeId: b, evidence: 'generations diverged' }),
      ];
      for (const r of reports) await js.publish(at(agentReportSubject(a)), JSON.stringify(r), { msgID: r.reportId });
      await until(() => consumer.counts.recorded === reports.length, 'the HA reports');
      await projector.waitFor(await readNewestPosition(db.store), 30_000);
      const replica = (await readModelSnapshot(db)).devices.find((d) => d.deviceId === deviceId)?.replicas.find((r) => r.nodeId === a);
      expect(replica?.ha).toEqual({
        portGroup: 1,
        paths: 'optimized',
        syncAddresses: [{ host: '10.1.0.1', port: 3262 }],
        heartbeatAddresses: [{ host: '10.2.0.1', port: 3263 }],
        accessState: 'optimized',
        blockedReason: 'split-brain: an operator must choose the survivor',
        partners: { [b]: { state: 'split-brain', reason: 'generations diverged', resync: null } },
      });
    } finally {
      await consumer.stop();
    }
  });
});
