import { randomUUID } from 'crypto';
import type { CommandReply } from '@tandem/contracts';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { countEvents, describeWithInfrastructure } from '../testing/infrastructure';
import { CommandBus } from './commandBus';

const ADMIN = 'user:admin';
const GiB = 2 ** 30;
const node = (overrides: Record<string, unknown> = {}) => ({
  nodeId: randomUUID(),
  name: `node-${randomUUID().slice(0, 8)}`,
  version: '0.1.0',
  build: 'abc123',
  portals: [{ host: '127.0.0.11' }],
  capacityBytes: 100 * GiB,
  ...overrides,
});
const errorCode = (reply: CommandReply) => (reply.ok ? 'OK' : reply.error.code);

describeWithInfrastructure('command bus', { nats: false }, (infra) => {
  let db: OrchestratorDatabase;
  let bus: CommandBus;
  const run = (type: string, payload: unknown, extra: Record<string, unknown> = {}) => bus.execute({ type, payload, ...extra }, ADMIN);
  const ok = async (type: string, payload: unknown) => {
    const reply = await run(type, payload);
    if (!reply.ok) throw new Error(`${type} refused: ${reply.error.code} ${reply.error.message}`);
    return reply;
  };

  beforeAll(async () => {
    db = await infra.openDatabase();
    bus = new CommandBus(db);
  });

  /** A site with a cluster and one member node of `capacityBytes`. */
  async function fleet(capacityBytes = 100 * GiB) {
    const site = await ok('CreateSite', { name: `site-${randomUUID().slice(0, 8)}` });
    const cluster = await ok('CreateCluster', { siteId: site.aggregateId, name: 'c1' });
    const n = node({ capacityBytes });
    await ok('RegisterNode', n);
    await ok('AddNodeToCluster', { nodeId: n.nodeId, clusterId: cluster.aggregateId });
    return { siteId: site.aggregateId, clusterId: cluster.aggregateId, node: n };
  }

  it('writes events with metadata and answers with stream version and position', async () => {
    const reply = await run('CreateSite', { name: 'Paris DC1', description: 'room 4' }, { correlationId: randomUUID() });
    expect(reply).toMatchObject({ ok: true, streamVersion: 1 });
    const [event] = await db.dataSource.query(`SELECT event_type, data, metadata FROM ${db.store.table('events')} WHERE stream_id = $1`, [`site-${reply.ok && reply.aggregateId}`]);
    expect(event).toMatchObject({ event_type: 'SiteCreated', data: { name: 'Paris DC1', description: 'room 4' }, metadata: { actor: ADMIN, causationId: reply.commandId } });
  });

  it('refuses bad payloads, unknown ids, duplicate names and bad sizes, writing nothing', async () => {
    const { clusterId, node: n, siteId } = await fleet(10 * GiB);
    const before = await countEvents(db);
    const refusals: [string, unknown, string][] = [
      ['CreateSite', { name: ' leading blank' }, 'BAD_USER_INPUT'],
      ['CreateSite', { name: 'x'.repeat(65) }, 'BAD_USER_INPUT'],
      ['CreateSite', { name: 'ok', extra: 1 }, 'BAD_USER_INPUT'],
      ['NoSuchCommand', {}, 'BAD_USER_INPUT'],
      ['RenameSite', { siteId: randomUUID(), name: 'x' }, 'NOT_FOUND'],
      ['CreateCluster', { siteId: randomUUID(), name: 'c' }, 'NOT_FOUND'],
      ['CreateCluster', { siteId, name: 'C1' }, 'CONFLICT'], // names are case-insensitive within a site
      ['RegisterNode', node({ name: n.name.toUpperCase() }), 'CONFLICT'],
      ['AddNodeToCluster', { nodeId: randomUUID(), clusterId }, 'NOT_FOUND'],
      ['CreateDevice', { clusterId, name: 'd', sizeBytes: 1000, replicas: [{ nodeId: n.nodeId, priority: 1 }] }, 'BAD_USER_INPUT'],
      ['CreateDevice', { clusterId, name: 'd', sizeBytes: 4096, storeKind: 'ZFS', replicas: [{ nodeId: n.nodeId, priority: 1 }] }, 'BAD_USER_INPUT'],
      ['CreateDevice', { clusterId, name: 'd', sizeBytes: 4096, replicas: [{ nodeId: n.nodeId, priority: 1 }, { nodeId: randomUUID(), priority: 2 }] }, 'BAD_USER_INPUT'],
      ['CreateDevice', { clusterId: randomUUID(), name: 'd', sizeBytes: 4096, replicas: [{ nodeId: n.nodeId, priority: 1 }] }, 'NOT_FOUND'],
      ['CreateDevice', { clusterId, name: 'd', sizeBytes: 11 * GiB, replicas: [{ nodeId: n.nodeId, priority: 1 }] }, 'CONFLICT'],
      ['DeleteSite', { siteId }, 'CONFLICT'], // still has a cluster
      ['DeleteCluster', { clusterId }, 'CONFLICT'], // still has a node
      ['ResizeDevice', { deviceId: randomUUID(), sizeBytes: 4096 }, 'NOT_FOUND'],
    ];
    for (const [type, payload, code] of refusals) {
      const reply = await run(type, payload);
      expect([type, errorCode(reply)]).toEqual([type, code]);
      if (!reply.ok) expect(reply.error.message.length).toBeGreaterThan(5);
    }
    expect(await countEvents(db)).toBe(before);
  });

  it('lists every contract problem for a bad payload', async () => {
    const reply = await run('CreateDevice', { clusterId: 'nope', name: '', sizeBytes: -1, replicas: [] });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.error.problems?.map((p) => p.path)).toEqual(expect.arrayContaining(['clusterId', 'name', 'sizeBytes', 'replicas']));
  });

  it('refuses a node whose version or build differs from its cluster', async () => {
    const { clusterId } = await fleet();
    const newer = node({ version: '0.2.0' });
    const otherBuild = node({ build: 'def456' });
    await ok('RegisterNode', newer);
    await ok('RegisterNode', otherBuild);
    const before = await countEvents(db);
    expect(errorCode(await run('AddNodeToCluster', { nodeId: newer.nodeId, clusterId }))).toBe('CONFLICT');
    expect(errorCode(await run('AddNodeToCluster', { nodeId: otherBuild.nodeId, clusterId }))).toBe('CONFLICT');
    expect(await countEvents(db)).toBe(before);
    const same = node();
    await ok('RegisterNode', same);
    await ok('AddNodeToCluster', { nodeId: same.nodeId, clusterId });
    // An upgrade report that would leave the cluster mixed is refused too.
    expect(errorCode(await run('RegisterNode', { ...same, version: '0.2.0' }))).toBe('CONFLICT');
  });

  it('grows devices within capacity, refuses shrinking, and enforces capacity across devices', async () => {
    const { clusterId, node: n } = await fleet(10 * GiB);
    const replicas = [{ nodeId: n.nodeId, priority: 1 }];
    const d1 = await ok('CreateDevice', { clusterId, name: 'db', sizeBytes: 4 * GiB, replicas });
    expect(errorCode(await run('CreateDevice', { clusterId, name: 'DB', sizeBytes: GiB, replicas }))).toBe('CONFLICT');
    await ok('CreateDevice', { clusterId, name: 'logs', sizeBytes: 4 * GiB, replicas });
    expect(errorCode(await run('CreateDevice', { clusterId, name: 'big', sizeBytes: 3 * GiB, replicas }))).toBe('CONFLICT');
    expect(errorCode(await run('ResizeDevice', { deviceId: d1.aggregateId, sizeBytes: 2 * GiB }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await run('ResizeDevice', { deviceId: d1.aggregateId, sizeBytes: 4 * GiB + 100 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await run('ResizeDevice', { deviceId: d1.aggregateId, sizeBytes: 7 * GiB }))).toBe('CONFLICT');
    expect(await run('ResizeDevice', { deviceId: d1.aggregateId, sizeBytes: 5 * GiB })).toMatchObject({ ok: true, streamVersion: 2 });
    // Maintenance keeps new replicas off the node; leaving it lets them in again.
    await ok('EnterNodeMaintenance', { nodeId: n.nodeId, reason: 'disk swap' });
    const twice = await run('EnterNodeMaintenance', { nodeId: n.nodeId });
    expect(twice.ok && twice.streamVersion).toBeUndefined(); // already in maintenance: nothing written
    expect(errorCode(await run('CreateDevice', { clusterId, name: 'tiny', sizeBytes: 4096, replicas }))).toBe('CONFLICT');
    await ok('ExitNodeMaintenance', { nodeId: n.nodeId });
    await ok('CreateDevice', { clusterId, name: 'tiny', sizeBytes: 4096, replicas });
    expect(errorCode(await run('RemoveNodeFromCluster', { nodeId: n.nodeId, clusterId }))).toBe('CONFLICT');
    await ok('DeleteDevice', { deviceId: d1.aggregateId });
    expect(errorCode(await run('DeleteDevice', { deviceId: d1.aggregateId }))).toBe('NOT_FOUND');
  });

  it('answers a retried command id with the first result and writes once', async () => {
    const commandId = randomUUID();
    const first = await run('CreateSite', { name: 'retry-me' }, { commandId });
    const before = await countEvents(db);
    const again = await run('CreateSite', { name: 'retry-me' }, { commandId });
    expect(again).toEqual(first);
    expect(await countEvents(db)).toBe(before);
  });

  it('refuses a caller expectation that is out of date', async () => {
    const site = await ok('CreateSite', { name: `v-${randomUUID().slice(0, 8)}` });
    await ok('RenameSite', { siteId: site.aggregateId, name: `w-${randomUUID().slice(0, 8)}` });
    expect(errorCode(await run('RenameSite', { siteId: site.aggregateId, name: 'stale' }, { expectedVersion: 1 }))).toBe('CONFLICT');
    expect(await run('RenameSite', { siteId: site.aggregateId, name: 'fresh' }, { expectedVersion: 2 })).toMatchObject({ ok: true, streamVersion: 3 });
  });

  describe('concurrent conflicting commands: exactly one wins', () => {
    const outcome = (replies: CommandReply[]) => replies.map(errorCode).sort();

    it('two sites with one name', async () => {
      const name = `same-${randomUUID().slice(0, 8)}`;
      const before = await countEvents(db);
      const replies = await Promise.all([run('CreateSite', { name }), run('CreateSite', { name: name.toUpperCase() })]);
      expect(outcome(replies)).toEqual(['CONFLICT', 'OK']);
      expect(await countEvents(db)).toBe(before + 1);
    });

    it('two renames of one site from the same version', async () => {
      const site = await ok('CreateSite', { name: `r-${randomUUID().slice(0, 8)}` });
      const replies = await Promise.all([
        // Both callers read version 1 (as two administrators would): whichever lands second must be refused, however
        // the two interleave (without the expectation, a second rename that starts after the first ended is fine).
        run('RenameSite', { siteId: site.aggregateId, name: `a-${randomUUID().slice(0, 8)}` }, { expectedVersion: 1 }),
        run('RenameSite', { siteId: site.aggregateId, name: `b-${randomUUID().slice(0, 8)}` }, { expectedVersion: 1 }),
      ]);
      expect(outcome(replies)).toEqual(['CONFLICT', 'OK']);
    });

    it('two nodes of different versions joining an empty cluster', async () => {
      const site = await ok('CreateSite', { name: `j-${randomUUID().slice(0, 8)}` });
      const cluster = await ok('CreateCluster', { siteId: site.aggregateId, name: 'empty' });
      const a = node({ version: '1.0.0' });
      const b = node({ version: '2.0.0' });
      await ok('RegisterNode', a);
      await ok('RegisterNode', b);
      const replies = await Promise.all([
        run('AddNodeToCluster', { nodeId: a.nodeId, clusterId: cluster.aggregateId }),
        run('AddNodeToCluster', { nodeId: b.nodeId, clusterId: cluster.aggregateId }),
      ]);
      expect(outcome(replies)).toEqual(['CONFLICT', 'OK']);
    });

    it('two devices that each fit but not together', async () => {
      const { clusterId, node: n } = await fleet(10 * GiB);
      const replicas = [{ nodeId: n.nodeId, priority: 1 }];
      const replies = await Promise.all([
        run('CreateDevice', { clusterId, name: 'left', sizeBytes: 6 * GiB, replicas }),
        run('CreateDevice', { clusterId, name: 'right', sizeBytes: 6 * GiB, replicas }),
      ]);
      expect(outcome(replies)).toEqual(['CONFLICT', 'OK']);
    });

    it('a cluster created in a site being deleted', async () => {
      for (let i = 0; i < 5; i++) {
        const site = await ok('CreateSite', { name: `del-${randomUUID().slice(0, 8)}` });
        const replies = await Promise.all([run('DeleteSite', { siteId: site.aggregateId }), run('CreateCluster', { siteId: site.aggregateId, name: 'late' })]);
        const codes = replies.map(errorCode);
        // Either the delete won (the cluster finds no site) or the cluster won (the site is not empty).
        expect([['OK', 'NOT_FOUND'], ['CONFLICT', 'OK']]).toContainEqual(codes);
      }
    });
  });
});
