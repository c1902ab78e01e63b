/**
 * The orchestrator's side of the agent protocol against real Postgres and NATS, the test playing the node agents
 * (their real implementation is exercised end to end in test/e2e). Each run uses its own subject prefix and streams.
 */
import { randomUUID } from 'crypto';
import { agentCommandsOfNodeSubject, agentDesiredDevicesSubject, agentReportSubject, agentStreamId, type AgentReport } from '@tandem/contracts';
import { readStream } from '@tandem/event-store';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { ReadModelProjector } from '../projections/readModelProjector';
import { readModelSnapshot } from '../projections/rebuildReadModels';
import { agentTestBed, decode, until } from '../testing/agentTestBed';
import { countEvents, describeWithInfrastructure } from '../testing/infrastructure';
import { AgentDispatcher, agentCommandIdFor } from './agentDispatcher';
import { AgentReportsConsumer } from './agentReportsConsumer';
import { DesiredDevicesResponder } from './desiredDevicesResponder';

const GiB = 2 ** 30;

describeWithInfrastructure('agent protocol (orchestrator side)', { nats: true }, (infra) => {
  const bed = agentTestBed(infra, 't');
  const { at, ok, prefix } = bed;
  let db: OrchestratorDatabase;
  let nc: NatsConnection;
  let projector: ReadModelProjector;
  let reportsStream: string;
  beforeAll(() => {
    ({ db, nc, projector, reportsStream } = bed);
  });

  /** A cluster with `count` registered member nodes. */
  async function fleet(count: number): Promise<{ clusterId: string; nodeIds: string[] }> {
    const site = await ok('CreateSite', { name: `site-${randomUUID().slice(0, 8)}` });
    const cluster = await ok('CreateCluster', { siteId: site.aggregateId, name: 'c1' });
    const nodeIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const nodeId = randomUUID();
      await ok('RegisterNode', { nodeId, name: `n-${nodeId.slice(0, 8)}`, version: '0.1.0', build: 'b1', portals: [{ host: '127.0.0.11' }], capacityBytes: 100 * GiB });
      await ok('AddNodeToCluster', { nodeId, clusterId: cluster.aggregateId });
      nodeIds.push(nodeId);
    }
    return { clusterId: cluster.aggregateId, nodeIds };
  }

  /** Plays one node's command subjects: records what arrives and answers with `answer`. */
  function fakeAgent(nodeId: string, answer: (verb: string, body: Record<string, unknown>) => object): { received: { verb: string; body: Record<string, unknown> }[]; sub: Subscription } {
    const received: { verb: string; body: Record<string, unknown> }[] = [];
    const sub = nc.subscribe(at(agentCommandsOfNodeSubject(nodeId)), {
      callback: (_err, msg: Msg) => {
        const verb = msg.subject.split('.').pop() as string;
        const body = decode(msg.data);
        received.push({ verb, body });
        msg.respond(JSON.stringify(answer(verb, body)));
      },
    });
    return { received, sub };
  }

  it('sends each replica node its device commands, derived ids, and records refusals; an absent node does not hold it up', async () => {
    const { clusterId, nodeIds } = await fleet(3);
    const [present, refusing, absent] = nodeIds;
    const good = fakeAgent(present, (_verb, body) => ({ ok: true, commandId: body.commandId, nodeId: present, changes: [] }));
    const bad = fakeAgent(refusing, (_verb, body) => ({ ok: false, commandId: body.commandId, nodeId: refusing, error: { code: 'CONFLICT', message: 'disk full here' } }));
    const dispatcher = new AgentDispatcher(db, nc, { subjectPrefix: prefix, name: `dispatch-${infra.runTag}`, requestTimeoutMs: 1000, pollIntervalMs: 20, log: () => undefined });
    dispatcher.start();
    try {
      // One at a time: a dispatcher that finds a device already deleted does not create it first.
      const onPresent = await ok('CreateDevice', { clusterId, name: 'vol-a', sizeBytes: GiB, replicas: [{ nodeId: present, priority: 1 }] });
      await until(() => dispatcher.counts.done === 1, 'the create');
      await ok('ResizeDevice', { deviceId: onPresent.aggregateId, sizeBytes: 2 * GiB });
      await until(() => dispatcher.counts.done === 2, 'the resize');
      await ok('DeleteDevice', { deviceId: onPresent.aggregateId });
      const onRefusing = await ok('CreateDevice', { clusterId, name: 'vol-b', sizeBytes: GiB, replicas: [{ nodeId: refusing, priority: 1 }] });
      const onAbsent = await ok('CreateDevice', { clusterId, name: 'vol-c', sizeBytes: GiB, replicas: [{ nodeId: absent, priority: 1 }] });
      await until(() => dispatcher.counts.done === 3 && dispatcher.counts.refused === 1 && dispatcher.counts.unreachable === 1, 'five dispatches');

      expect(good.received.map((r) => r.verb)).toEqual(['create-device', 'resize-device', 'delete-device']);
      const [create, resize, remove] = good.received.map((r) => r.body);
      expect(create).toMatchObject({ device: { deviceId: onPresent.aggregateId, name: 'vol-a', sizeBytes: GiB, sectorSize: 512, storeKind: 'FLAT' } });
      expect(resize).toMatchObject({ deviceId: onPresent.aggregateId, sizeBytes: 2 * GiB });
      expect(remove).toMatchObject({ deviceId: onPresent.aggregateId, destroyData: false });
      const createdEvent = (await readStream(db.store, `device-${onPresent.aggregateId}`)).events[0];
      expect(create.commandId).toBe(agentCommandIdFor(createdEvent.id, present));

      // The refusal is an event in the refusing node's stream and shows on its replica.
      const refusals = await readStream(db.store, agentStreamId(refusing));
      expect(refusals.events.map((e) => [e.type, e.data])).toEqual([
        ['ReplicaCommandFailed', { deviceId: onRefusing.aggregateId, nodeId: refusing, verb: 'create-device', code: 'CONFLICT', message: 'disk full here' }],
      ]);
      await projector.waitFor(refusals.events[0].globalPosition, 30_000);
      const snapshot = await readModelSnapshot(db);
      expect(snapshot.devices.find((d) => d.deviceId === onRefusing.aggregateId)?.replicas[0]).toMatchObject({ state: 'pending', lastError: 'create-device: CONFLICT: disk full here' });
      expect(snapshot.devices.find((d) => d.deviceId === onAbsent.aggregateId)?.replicas[0]).toMatchObject({ state: 'pending', lastError: null });
      expect(bad.received).toHaveLength(1);

      // Redelivery after a crash (checkpoint lost) sends the same command ids again, and writes no second refusal.
      await dispatcher.stop();
      const again = new AgentDispatcher(db, nc, { subjectPrefix: prefix, name: `dispatch2-${infra.runTag}`, requestTimeoutMs: 300, pollIntervalMs: 20, log: () => undefined });
      const events = await countEvents(db);
      again.start();
      await until(() => again.counts.refused === 1 && again.counts.done === 1 && again.counts.unreachable === 1, 'a second pass');
      await again.caughtUp();
      await again.stop();
      // The deleted device is not brought back (create/resize skipped); its delete is sent once more, same id.
      expect(good.received.slice(3).map((r) => [r.verb, r.body.commandId])).toEqual([['delete-device', remove.commandId]]);
      expect(await countEvents(db)).toBe(events);
    } finally {
      await dispatcher.stop();
      good.sub.unsubscribe();
      bad.sub.unsubscribe();
    }
  });

  it('answers desired devices from up-to-date read models, and refuses a request for another node', async () => {
    const { clusterId, nodeIds } = await fleet(2);
    const responder = new DesiredDevicesResponder(db, nc, projector, prefix);
    responder.start();
    try {
      const a = await ok('CreateDevice', { clusterId, name: 'want-a', sizeBytes: GiB, sectorSize: 4096, replicas: [{ nodeId: nodeIds[0], priority: 1 }] });
      await ok('CreateDevice', { clusterId, name: 'want-b', sizeBytes: GiB, replicas: [{ nodeId: nodeIds[1], priority: 1 }] });
      const gone = await ok('CreateDevice', { clusterId, name: 'gone', sizeBytes: GiB, replicas: [{ nodeId: nodeIds[0], priority: 1 }] });
      await ok('DeleteDevice', { deviceId: gone.aggregateId });
      // Asked at once: the answer waits for the projector instead of reading a lagging table.
      const reply = decode((await nc.request(at(agentDesiredDevicesSubject(nodeIds[0])), JSON.stringify({ nodeId: nodeIds[0] }), { timeout: 5000 })).data);
      expect(reply).toEqual({ nodeId: nodeIds[0], devices: [{ deviceId: a.aggregateId, name: 'want-a', sizeBytes: GiB, sectorSize: 4096, storeKind: 'FLAT', cacheMode: 'write-through' }] });
      const spoofed = decode((await nc.request(at(agentDesiredDevicesSubject(nodeIds[0])), JSON.stringify({ nodeId: nodeIds[1] }), { timeout: 5000 })).data);
      expect(spoofed.error.code).toBe('BAD_USER_INPUT');
      const garbage = decode((await nc.request(at(agentDesiredDevicesSubject(nodeIds[0])), 'not json', { timeout: 5000 })).data);
      expect(garbage.error.code).toBe('BAD_USER_INPUT');
    } finally {
      await responder.stop();
    }
  });

  it('records reports once and in order, refuses malformed ones without writing, and projects replica state and health', async () => {
    const { clusterId, nodeIds } = await fleet(1);
    const [nodeId] = nodeIds;
    const device = await ok('CreateDevice', { clusterId, name: 'reported', sizeBytes: GiB, replicas: [{ nodeId, priority: 1 }] });
    const consumer = new AgentReportsConsumer(db, nc, { stream: reportsStream, subjectPrefix: prefix, name: `reports-${infra.runTag}`, retryDelayMs: 100, log: () => undefined });
    await consumer.start();
    const js = nc.jetstream();
    let sequence = 0;
    const report = (type: AgentReport['type'], data: Record<string, unknown>): AgentReport =>
      ({ reportId: randomUUID(), nodeId, sequence: ++sequence, occurredAt: new Date().toISOString(), type, data }) as AgentReport;
    const publish = (r: unknown, subjectNode = nodeId, msgID = (r as AgentReport).reportId ?? randomUUID()) =>
      js.publish(at(agentReportSubject(subjectNode)), typeof r === 'string' ? r : JSON.stringify(r), { msgID });
    try {
      const lun = { deviceId: device.aggregateId, targetName: `iqn.2026-11.io.tandem:${device.aggregateId}`, lun: 0 };
      const reports = [
        report('NodeHealthChanged', { health: 'ok' }),
        report('LunCreated', { ...lun, sizeBytes: GiB, sectorSize: 512 }),
        report('LunResized', { ...lun, sizeBytes: 2 * GiB, previousSizeBytes: GiB }),
      ];
      for (const r of reports) await publish(r);
      // Malformed: not JSON; a missing field; a node speaking on another node's subject.
      await publish('{oops', nodeId, randomUUID());
      await publish({ ...report('NodeHealthChanged', { health: 'fine' }) });
      await publish(report('NodeHealthChanged', { health: 'degraded' }), randomUUID());
      // The same report delivered again under a new message id (JetStream cannot drop it): recorded once.
      await publish(reports[1], nodeId, randomUUID());
      await until(() => consumer.counts.recorded + consumer.counts.duplicates + consumer.counts.refused === 7, 'seven reports handled');
      expect(consumer.counts).toEqual({ recorded: 3, duplicates: 1, refused: 3 });

      const stream = await readStream(db.store, agentStreamId(nodeId));
      expect(stream.events.map((e) => [e.id, e.type, (e.data as { nodeSequence: number }).nodeSequence])).toEqual([
        [reports[0].reportId, 'NodeHealthChanged', 1],
        [reports[1].reportId, 'ReplicaExported', 2],
        [reports[2].reportId, 'ReplicaResized', 3],
      ]);
      expect(stream.events[1].metadata).toMatchObject({ actor: `node:${nodeId}` });

      await projector.waitFor(stream.events[2].globalPosition, 30_000);
      const snapshot = await readModelSnapshot(db);
      expect(snapshot.nodes.find((n) => n.nodeId === nodeId)?.health).toBe('ok');
      expect(snapshot.devices.find((d) => d.deviceId === device.aggregateId)?.replicas).toEqual([
        { nodeId, priority: 1, state: 'exported', targetName: lun.targetName, lun: 0, lastError: null, ha: null },
      ]);

      // A restarted consumer resumes after what it acknowledged: nothing again.
      await consumer.stop();
      const resumed = new AgentReportsConsumer(db, nc, { stream: reportsStream, subjectPrefix: prefix, name: `reports-${infra.runTag}`, retryDelayMs: 100, log: () => undefined });
      await resumed.start();
      await publish(report('LunDeleted', { ...lun, dataDestroyed: false }));
      await until(() => resumed.counts.recorded === 1, 'the withdrawal');
      expect(resumed.counts).toEqual({ recorded: 1, duplicates: 0, refused: 0 });
      await resumed.stop();
    } finally {
      await consumer.stop();
    }
  });
});
