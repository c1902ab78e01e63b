import { randomUUID } from 'crypto';
import { agentStreamId, type AgentReport } from '@tandem/contracts';
import { appendToStream } from '@tandem/event-store';
import { eventForReport } from '../agents/reportEvents';
import { replay } from '../cli/replay';
import { CommandBus } from '../commands/commandBus';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { describeWithInfrastructure } from '../testing/infrastructure';
import { ReadModels } from '../readModels.service';
import { ReadModelProjector } from './readModelProjector';

const GiB = 2 ** 30;

/** A deterministic pseudo-random generator, so the scripted history is the same on every run. */
function prng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describeWithInfrastructure('read models: live projection, rebuild and time travel', { nats: false }, (infra) => {
  let db: OrchestratorDatabase;
  let bus: CommandBus;
  let projector: ReadModelProjector;
  let readModels: ReadModels;
  let accepted = 0;
  let refused = 0;

  beforeAll(async () => {
    db = await infra.openDatabase();
    bus = new CommandBus(db);
    projector = new ReadModelProjector(db, { batchSize: 200 });
    readModels = new ReadModels(db, projector);
    projector.start();
    infra.beforeClose(() => projector.stop());
  });

  /** A node's report recorded as the reports consumer records it (node facts are part of the history too). */
  const sequences = new Map<string, number>();
  const report = async (nodeId: string, type: AgentReport['type'], data: Record<string, unknown>) => {
    const sequence = (sequences.get(nodeId) ?? 0) + 1;
    sequences.set(nodeId, sequence);
    const r = { reportId: randomUUID(), nodeId, sequence, occurredAt: new Date(1_780_000_000_000 + sequence).toISOString(), type, data } as AgentReport;
    await appendToStream(db.store, agentStreamId(nodeId), [eventForReport(r)]);
  };

  const exec = async (type: string, payload: unknown) => {
    const reply = await bus.execute({ type, payload }, 'system:test');
    if (reply.ok) accepted++;
    else refused++;
    return reply;
  };

  it('runs a scripted history of more than 1,000 commands', async () => {
    const random = prng(42);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
    const sites: string[] = [];
    const clusters: { id: string; version: string }[] = [];
    const nodes: { nodeId: string; clusterId?: string }[] = [];
    const devices: { id: string; size: number; nodeId: string }[] = [];
    for (let s = 0; s < 5; s++) {
      const r = await exec('CreateSite', { name: `site-${s}` });
      if (r.ok) sites.push(r.aggregateId);
    }
    for (let c = 0; c < 10; c++) {
      const r = await exec('CreateCluster', { siteId: pick(sites), name: `cluster-${c}` });
      if (r.ok) clusters.push({ id: r.aggregateId, version: c % 2 === 0 ? '1.0.0' : '1.1.0' });
    }
    for (let n = 0; n < 40; n++) {
      const version = n % 2 === 0 ? '1.0.0' : '1.1.0';
      const nodeId = randomUUID();
      // Portal group tags 1–3: HA devices on two nodes of one tag are refused (part of the script too).
      await exec('RegisterNode', {
        nodeId,
        name: `node-${n}`,
        version,
        build: 'b1',
        portals: [{ host: `127.0.0.${10 + n}`, portalGroupTag: 1 + (n % 3) }],
        syncAddresses: [{ host: `127.0.1.${10 + n}`, port: 3262 }],
        heartbeatAddresses: [{ host: `127.0.2.${10 + n}`, port: 3263 }],
        capacityBytes: 64 * GiB,
      });
      // About half the joins pick a cluster of another version and are refused (refusals are part of the script).
      const clusterId = pick(clusters).id;
      const joined = await exec('AddNodeToCluster', { nodeId, clusterId });
      nodes.push({ nodeId, clusterId: joined.ok ? clusterId : undefined });
    }
    let step = 0;
    let haCreated = 0;
    while (accepted + refused < 1100) {
      step++;
      const roll = random();
      if (roll < 0.12) {
        // A HA device on two nodes, and what their nodes report about it.
        const a = pick(nodes);
        const peers = nodes.filter((x) => x !== a && x.clusterId !== undefined && x.clusterId === a.clusterId);
        const b = peers.length > 0 ? pick(peers) : pick(nodes);
        const sizeBytes = (1 + Math.floor(random() * 4)) * GiB;
        const r = await exec('CreateHaDevice', {
          clusterId: a.clusterId ?? pick(clusters).id,
          name: `ha-${step}`,
          sizeBytes,
          replicas: [{ nodeId: a.nodeId, priority: 2 }, { nodeId: b.nodeId, priority: 1 }],
          initialSync: random() < 0.5 ? 'CLEAR_BOTH' : 'NONE',
        });
        if (r.ok) {
          haCreated++;
          devices.push({ id: r.aggregateId, size: 0, nodeId: a.nodeId });
          const ha = (event: Record<string, unknown>) => report(a.nodeId, 'HaStateChanged', { deviceId: r.aggregateId, event });
          await ha({ type: 'PathStateChanged', portGroup: 1, state: 'optimized' });
          if (random() < 0.7) await ha({ type: 'ReplicaSynchronized', partnerNodeId: b.nodeId });
          else {
            await ha({ type: 'ResyncStarted', partnerNodeId: b.nodeId, direction: 'to-partner', kind: 'fast', bytes: 4 * 1048576 });
            await ha({ type: 'ResyncProgress', partnerNodeId: b.nodeId, doneBytes: 1048576, totalBytes: 4 * 1048576 });
            if (random() < 0.5) await ha({ type: 'DeviceBlocked', reason: 'scripted' });
          }
        }
      } else if (roll < 0.45) {
        const n = pick(nodes);
        const sizeBytes = (1 + Math.floor(random() * 8)) * GiB;
        const r = await exec('CreateDevice', { clusterId: n.clusterId ?? pick(clusters).id, name: `dev-${step}`, sizeBytes, replicas: [{ nodeId: n.nodeId, priority: 1 }] });
        if (r.ok) devices.push({ id: r.aggregateId, size: 0, nodeId: n.nodeId });
        // Most nodes export what they are given; some refuse; some stay silent (pending).
        const fate = random();
        const lun = { deviceId: r.aggregateId, targetName: `iqn.2026-11.io.tandem:${r.aggregateId}`, lun: 0 };
        if (r.ok && fate < 0.7) await report(n.nodeId, 'LunCreated', { ...lun, sizeBytes, sectorSize: 512 });
        else if (r.ok && fate < 0.8) {
          await appendToStream(db.store, agentStreamId(n.nodeId), [
            { type: 'ReplicaCommandFailed', data: { deviceId: r.aggregateId, nodeId: n.nodeId, verb: 'create-device', code: 'CONFLICT', message: 'no room' }, metadata: { correlationId: randomUUID(), actor: 'system:orchestrator' } },
          ]);
        }
      } else if (roll < 0.5) {
        await report(pick(nodes).nodeId, 'NodeHealthChanged', { health: pick(['ok', 'degraded', 'failing']), reason: 'scripted' });
      } else if (roll < 0.65 && devices.length > 0) {
        await exec('ResizeDevice', { deviceId: pick(devices).id, sizeBytes: (9 + Math.floor(random() * 8)) * GiB });
      } else if (roll < 0.75 && devices.length > 0) {
        const index = Math.floor(random() * devices.length);
        await exec('DeleteDevice', { deviceId: devices[index].id });
        devices.splice(index, 1);
      } else if (roll < 0.85) {
        await exec(random() < 0.5 ? 'EnterNodeMaintenance' : 'ExitNodeMaintenance', { nodeId: pick(nodes).nodeId });
      } else if (roll < 0.92) {
        await exec('RenameCluster', { clusterId: pick(clusters).id, name: `cluster-${step}` });
      } else {
        await exec('RenameSite', { siteId: pick(sites), name: `site-${step}` });
      }
    }
    expect(accepted + refused).toBeGreaterThanOrEqual(1000);
    expect(accepted).toBeGreaterThan(500);
    expect(haCreated).toBeGreaterThan(3);
  });

  it('projects live, and a drop-and-rebuild gives identical tables', async () => {
    // The newest position written (readHeadPosition may lag while other test files' transactions run: xids are cluster-wide).
    const [{ max }] = await db.dataSource.query(`SELECT max(global_position)::int AS max FROM ${db.store.table('events')}`);
    const head: number = max;
    await readModels.waitFor(head, 30_000);
    const live = await readModels.snapshot();
    expect(live.devices.length).toBeGreaterThan(10);
    expect(live.nodes.some((n) => n.allocatedBytes > 0)).toBe(true);
    const replicaStates = new Set(live.devices.flatMap((d) => d.replicas.map((r) => (r.lastError ? 'refused' : r.state))));
    expect([...replicaStates].sort()).toEqual(['exported', 'pending', 'refused']);
    expect(live.nodes.some((n) => n.health !== null)).toBe(true);

    // Damage the tables, then rebuild them from the log alone.
    await db.dataSource.query(`DELETE FROM ${db.table('devices')}`);
    await db.dataSource.query(`UPDATE ${db.table('nodes')} SET allocated_bytes = 0, health = NULL`);
    const result = await readModels.rebuild();
    expect(result.position).toBe(head);
    expect(await readModels.snapshot()).toEqual(live);
    // The same projection code in memory agrees with the tables.
    expect(await readModels.stateAt(head)).toEqual(live);

    // The CLI entry does the same on its own connection.
    const lines: string[] = [];
    const cli = await replay({ databaseUrl: infra.postgresUrl, schema: db.schema, write: (l) => lines.push(l) });
    expect(cli.counts).toEqual(result.counts);
    expect(lines[0]).toMatch(/^replayed \d+ events up to position \d+/);
    expect(await readModels.snapshot()).toEqual(live);
  });

  it('keeps projecting after a rebuild, exactly once', async () => {
    const site = await bus.executeOrThrow({ type: 'CreateSite', payload: { name: 'after-rebuild' } }, 'system:test');
    await readModels.waitFor(site.globalPosition!, 30_000);
    const tables = await readModels.snapshot();
    expect(tables.sites.map((s) => s.name)).toContain('after-rebuild');
    expect(await readModels.stateAt(site.globalPosition!)).toEqual(tables);
  });

  it('travels back in time to an earlier position', async () => {
    const site = await bus.executeOrThrow({ type: 'CreateSite', payload: { name: 'time-travel' } }, 'system:test');
    const cluster = await bus.executeOrThrow({ type: 'CreateCluster', payload: { siteId: site.aggregateId, name: 'tt' } }, 'system:test');
    const n = { nodeId: randomUUID(), name: 'tt-node', version: '3.0.0', build: 'x', portals: [{ host: '127.0.0.99' }], capacityBytes: 10 * GiB };
    await bus.executeOrThrow({ type: 'RegisterNode', payload: n }, 'system:test');
    await bus.executeOrThrow({ type: 'AddNodeToCluster', payload: { nodeId: n.nodeId, clusterId: cluster.aggregateId } }, 'system:test');
    const created = await bus.executeOrThrow(
      { type: 'CreateDevice', payload: { clusterId: cluster.aggregateId, name: 'tt-dev', sizeBytes: GiB, replicas: [{ nodeId: n.nodeId, priority: 1 }] } },
      'system:test',
    );
    const resized = await bus.executeOrThrow({ type: 'ResizeDevice', payload: { deviceId: created.aggregateId, sizeBytes: 2 * GiB } }, 'system:test');
    const renamed = await bus.executeOrThrow({ type: 'RenameSite', payload: { siteId: site.aggregateId, name: 'time-travel-2' } }, 'system:test');

    const atCreation = await readModels.stateAt(created.globalPosition!);
    expect(atCreation.devices.find((d) => d.deviceId === created.aggregateId)).toMatchObject({ sizeBytes: GiB, version: 1 });
    expect(atCreation.nodes.find((x) => x.nodeId === n.nodeId)).toMatchObject({ allocatedBytes: GiB });
    expect(atCreation.sites.find((s) => s.siteId === site.aggregateId)?.name).toBe('time-travel');
    const beforeDevice = await readModels.stateAt(created.globalPosition! - 1);
    expect(beforeDevice.devices.find((d) => d.deviceId === created.aggregateId)).toBeUndefined();
    const now = await readModels.stateAt(renamed.globalPosition!);
    expect(now.devices.find((d) => d.deviceId === created.aggregateId)).toMatchObject({ sizeBytes: 2 * GiB, version: 2, updatedPosition: resized.globalPosition });
    expect(now.sites.find((s) => s.siteId === site.aggregateId)?.name).toBe('time-travel-2');
  });
});
