/**
 * Liveness and alerts against real Postgres and NATS, with a controlled clock: a node silent past the threshold is
 * unreachable (not before the start-up grace), heard again it is reachable; malformed and forged telemetry is
 * dropped and written nowhere; two orchestrators judging at once write each transition once.
 */
import { randomUUID } from 'crypto';
import { livenessStreamId, telemetrySubject, type NodeTelemetry } from '@tandem/contracts';
import { readStream } from '@tandem/event-store';
import { connect, type NatsConnection } from 'nats';
import { AlertEvaluator } from '../alerts/alertEvaluator';
import { CommandBus } from '../commands/commandBus';
import { AlertEntity, NodeEntity, NodeLivenessEntity } from '../database/entities/readModel.entities';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { ReadModelProjector } from '../projections/readModelProjector';
import { countEvents, describeWithInfrastructure } from '../testing/infrastructure';
import { LivenessMonitor } from './livenessMonitor';

const LOST_AFTER = 5000;

describeWithInfrastructure('node liveness and alerts', { nats: true }, (infra) => {
  let db: OrchestratorDatabase;
  let nc: NatsConnection;
  let bus: CommandBus;
  let projector: ReadModelProjector;
  const prefix = `live_${infra.runTag}`;
  let clock = 1_000_000;
  const now = () => clock;
  const nodeId = randomUUID();
  const quiet = () => undefined;

  const telemetry = (id: string): NodeTelemetry => ({ nodeId: id, sentAt: new Date().toISOString(), intervalMs: 1000, health: 'ok', usedBytes: 0, devices: [] });
  const monitor = () => new LivenessMonitor(db, nc, { subjectPrefix: prefix, lostAfterMs: LOST_AFTER, checkEveryMs: 3_600_000, now, log: quiet });
  const send = (m: LivenessMonitor, id: string, body: unknown) => m.receive(`${prefix}.${telemetrySubject(id)}`, new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)));
  const reachable = async () => (await db.dataSource.manager.findOneByOrFail(NodeEntity, { nodeId })).reachable;
  const settle = async () => projector.waitFor(await countEventsPosition());
  const countEventsPosition = async () => Number((await db.dataSource.query(`SELECT coalesce(max(global_position), 0) AS p FROM ${db.store.table('events')}`))[0].p);

  beforeAll(async () => {
    db = await infra.openDatabase();
    nc = await connect({ servers: infra.natsUrl, timeout: 3000 });
    bus = new CommandBus(db);
    projector = new ReadModelProjector(db, { pollIntervalMs: 10 });
    projector.start();
    infra.beforeClose(async () => {
      await projector.stop();
      await nc.close();
    });
    await bus.executeOrThrow({ type: 'RegisterNode', payload: { nodeId, name: 'live-node', version: '1.0.0', build: 'b', portals: [{ host: '127.0.0.1' }], capacityBytes: 1 << 30 } }, 'system:test');
    await settle();
  });

  it('judges nobody during the first silence period, then records NodeUnreachable once and NodeReachable when heard', async () => {
    const m = monitor();
    m.start();
    try {
      await m.check();
      clock += LOST_AFTER - 1;
      await m.check();
      expect(await countEvents(db)).toBe(1); // only NodeRegistered: the warm-up judged nobody
      clock += 2;
      await m.check();
      await m.check(); // judging again writes nothing more
      await settle();
      expect(await reachable()).toBe(false);
      const lost = await readStream(db.store, livenessStreamId(nodeId));
      expect(lost.events.map((e) => e.type)).toEqual(['NodeUnreachable']);
      expect(lost.events[0].data).toMatchObject({ nodeId, lastSeenAt: null, afterMs: LOST_AFTER });

      send(m, nodeId, telemetry(nodeId));
      await m.check();
      await settle();
      expect(await reachable()).toBe(true);
      expect((await readStream(db.store, livenessStreamId(nodeId))).events.map((e) => e.type)).toEqual(['NodeUnreachable', 'NodeReachable']);
      expect(await db.dataSource.manager.findOneByOrFail(NodeLivenessEntity, { nodeId })).toMatchObject({ lastSeenAt: new Date(clock) });
    } finally {
      await m.stop();
    }
  });

  it('drops malformed and forged telemetry, and telemetry of unknown nodes, writing nothing', async () => {
    const m = monitor();
    const before = await countEvents(db);
    send(m, nodeId, 'not json');
    send(m, nodeId, { ...telemetry(nodeId), health: 'splendid' });
    send(m, nodeId, telemetry(randomUUID())); // a body naming another node than its subject
    m.receive(`${prefix}.tandem.telemetry`, new TextEncoder().encode('{}'));
    expect(m.counts).toMatchObject({ accepted: 0, refused: 4 });
    const stranger = randomUUID();
    send(m, stranger, telemetry(stranger)); // well formed, but no such node is registered
    await m.check();
    expect(await db.dataSource.manager.findOneBy(NodeLivenessEntity, { nodeId: stranger })).toBeNull();
    expect(m.freshTelemetry().has(stranger)).toBe(false);
    expect(await countEvents(db)).toBe(before);
  });

  it('two orchestrators judging the same silence and the same alert write each transition once', async () => {
    const [m1, m2] = [monitor(), monitor()];
    m1.start();
    m2.start();
    try {
      await Promise.all([m1.check(), m2.check()]); // both start knowing the node
      clock += 10 * LOST_AFTER;
      await Promise.all([m1.check(), m2.check(), m1.check(), m2.check()]);
      await settle();
      const transitions = (await readStream(db.store, livenessStreamId(nodeId))).events.map((e) => e.type);
      expect(transitions).toEqual(['NodeUnreachable', 'NodeReachable', 'NodeUnreachable']);
      const [e1, e2] = [new AlertEvaluator(db, m1, { now, log: quiet }), new AlertEvaluator(db, m2, { now, log: quiet })];
      const results = await Promise.all([e1.evaluate(), e2.evaluate()]);
      expect(results[0].raised + results[1].raised).toBe(1);
      await settle();
      expect(await e1.evaluate()).toEqual({ raised: 0, cleared: 0 });
      const alerts = await db.dataSource.manager.find(AlertEntity, { where: { subjectId: nodeId } });
      expect(alerts).toMatchObject([{ kind: 'NodeUnreachable', active: true, severity: 'critical' }]);

      // Heard again: reachable, and the alert cleared, once.
      send(m1, nodeId, telemetry(nodeId));
      send(m2, nodeId, telemetry(nodeId));
      await Promise.all([m1.check(), m2.check()]);
      await settle();
      const cleared = await Promise.all([e1.evaluate(), e2.evaluate()]);
      expect(cleared[0].cleared + cleared[1].cleared).toBe(1);
      await settle();
      expect(await db.dataSource.manager.find(AlertEntity, { where: { subjectId: nodeId } })).toMatchObject([{ active: false, clearedMessage: expect.stringContaining('no longer holds') }]);
    } finally {
      await m1.stop();
      await m2.stop();
    }
  });
});
