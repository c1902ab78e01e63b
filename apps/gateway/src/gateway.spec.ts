import { randomUUID } from 'crypto';
import type { INestApplication } from '@nestjs/common';
import { appendToStream } from '@tandem/event-store';
import { CommandBus, CommandListener, JetStreamOutbox, ReadModelProjector, type OrchestratorDatabase } from '@tandem/orchestrator';
import { countEvents, describeWithInfrastructure } from '@tandem/orchestrator/testing';
import { createClient, type Client } from 'graphql-ws';
import { connect, type NatsConnection } from 'nats';
import WebSocket from 'ws';
import { GatewayConfigError, settingsFromEnv } from './config';
import { bootstrapGateway } from './main';

describe('gateway settings', () => {
  it('refuses to start without a token, and never invents one', () => {
    expect(() => settingsFromEnv({})).toThrow(GatewayConfigError);
    expect(() => settingsFromEnv({})).toThrow(/TANDEM_API_TOKEN is not set/);
    expect(() => settingsFromEnv({ TANDEM_API_TOKEN: 'short' })).toThrow(/at least 16/);
  });

  it('listens on 127.0.0.1:4000 by default and requires the token for reads beyond loopback', () => {
    const token = 'x'.repeat(32);
    expect(settingsFromEnv({ TANDEM_API_TOKEN: token })).toMatchObject({ host: '127.0.0.1', port: 4000, path: '/graphql', readsRequireToken: false });
    expect(settingsFromEnv({ TANDEM_API_TOKEN: token, TANDEM_GATEWAY_LISTEN: '0.0.0.0:4000' }).readsRequireToken).toBe(true);
  });
});

interface GqlResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

describeWithInfrastructure('GraphQL gateway against a live orchestrator', { nats: true }, (infra) => {
  const token = randomUUID().replace(/-/g, '');
  const stream = `TANDEM_EVENTS_G${infra.runTag}`.toUpperCase();
  const subjectPrefix = `g${infra.runTag}`;
  let db: OrchestratorDatabase;
  let nc: NatsConnection;
  let app: INestApplication;
  let url: string;
  let wsUrl: string;

  beforeAll(async () => {
    db = await infra.openDatabase();
    nc = await connect({ servers: infra.natsUrl, timeout: 3000 });
    const bus = new CommandBus(db);
    const projector = new ReadModelProjector(db, { pollIntervalMs: 20 });
    projector.start();
    const outbox = new JetStreamOutbox(db, nc, { stream, subjectPrefix, duplicateWindowMs: 600_000, pollIntervalMs: 20 });
    await outbox.start();
    const listener = new CommandListener(nc, bus, subjectPrefix);
    listener.start();
    const settings = settingsFromEnv({}, { apiToken: token, host: '127.0.0.1', port: 0, subjectPrefix, eventsStream: stream, natsUrl: infra.natsUrl, commandTimeoutMs: 5000 });
    ({ app, url, wsUrl } = await bootstrapGateway(settings, { database: db, logger: false }));
    infra.beforeClose(async () => {
      await app.close();
      await listener.stop();
      await outbox.stop();
      await projector.stop();
      await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
      await nc.close();
    });
  });

  const gql = async <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, auth: string | null = token): Promise<GqlResponse<T>> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(15_000),
    });
    return (await response.json()) as GqlResponse<T>;
  };
  const codes = (r: GqlResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

  const CREATE_SITE = 'mutation($input: CreateSiteInput!) { createSite(input: $input) { aggregateId globalPosition site { id name } errors { __typename ... on UserError { code message } ... on InvalidInputError { problems { path message } } } } }';
  type UserErrors = { errors: { __typename: string; code: string; message: string; problems?: { path: string; message: string }[] }[] };
  const errorCodes = (payload: UserErrors | undefined) => (payload?.errors ?? []).map((e) => e.code);

  it('refuses a mutation without a valid token (UNAUTHENTICATED) and writes nothing', async () => {
    const before = await countEvents(db);
    const none = await gql(CREATE_SITE, { input: { name: 'no-token' } }, null);
    expect(codes(none)).toEqual(['UNAUTHENTICATED']);
    const wrong = await gql(CREATE_SITE, { input: { name: 'wrong-token' } }, `${token}x`);
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
    expect(await countEvents(db)).toBe(before);
  });

  it('creates a site with the token, and it appears in `sites`', async () => {
    const created = await gql<{ createSite: { aggregateId: string; site: { name: string } } }>(CREATE_SITE, { input: { name: 'Lab A', description: 'first' } });
    expect(created.errors).toBeUndefined();
    expect(created.data?.createSite.site).toEqual({ id: created.data?.createSite.aggregateId, name: 'Lab A' });
    const sites = await gql<{ sites: { edges: { node: { id: string; name: string; description: string } }[] } }>('{ sites { edges { node { id name description } } } }', {}, null);
    expect(sites.data?.sites.edges.map((e) => e.node)).toContainEqual({ id: created.data?.createSite.aggregateId, name: 'Lab A', description: 'first' });
  });

  it("maps refusals to the payload's typed errors: malformed input, unknown id, duplicate name", async () => {
    const before = await countEvents(db);
    const malformed = await gql<{ createSite: UserErrors & { aggregateId: string | null } }>(CREATE_SITE, { input: { name: '  spaces around  ', siteId: 'not-a-uuid' } });
    expect(malformed.errors).toBeUndefined();
    expect(errorCodes(malformed.data?.createSite)).toEqual(['BAD_USER_INPUT']);
    expect(malformed.data?.createSite.errors[0]).toMatchObject({ __typename: 'InvalidInputError', message: expect.stringMatching(/siteId: must be a UUID/) });
    expect(malformed.data?.createSite.errors[0].problems).toContainEqual({ path: 'siteId', message: 'must be a UUID' });
    expect(malformed.data?.createSite.aggregateId).toBeNull();
    expect(await countEvents(db)).toBe(before);

    const unknown = await gql<{ renameSite: UserErrors }>('mutation($input: RenameSiteInput!) { renameSite(input: $input) { aggregateId errors { ... on UserError { code message } } } }', { input: { siteId: randomUUID(), name: 'renamed' } });
    expect(errorCodes(unknown.data?.renameSite)).toEqual(['NOT_FOUND']);

    const duplicate = await gql<{ createSite: UserErrors }>(CREATE_SITE, { input: { name: 'Lab A' } });
    expect(errorCodes(duplicate.data?.createSite)).toEqual(['CONFLICT']);
    expect(duplicate.data?.createSite.errors[0].__typename).toBe('ConflictError');
    expect(await countEvents(db)).toBe(before);

    // A value outside a closed set is refused by GraphQL itself, before anything runs.
    const badEnum = await gql('mutation { createCluster(input: { siteId: "00000000-0000-4000-8000-000000000000", name: "x", haStrategy: SOMETIMES }) { aggregateId } }');
    expect(codes(badEnum)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('refuses an over-deep query before running it', async () => {
    const deep = await gql('{ sites { edges { node { clusters { site { clusters { site { clusters { site { name } } } } } } } } } }', {}, null);
    expect(deep.data ?? undefined).toBeUndefined();
    expect(deep.errors?.[0].message).toMatch(/query depth 10 exceeds the limit of 8/);
  });

  it('streams SiteCreated to an `events` subscription over graphql-ws', async () => {
    const feed = app.get(await import('./events/eventFeed').then((m) => m.EventFeed));
    const client: Client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    try {
      const received = new Promise<{ type: string; data: { name: string } }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no event within 15 s')), 15_000);
        const dispose = client.subscribe<{ events: { type: string; data: { name: string } } }>(
          { query: 'subscription { events(type: "SiteCreated") { type globalPosition data } }' },
          {
            next: (message) => {
              if (message.errors) return reject(new Error(JSON.stringify(message.errors)));
              clearTimeout(timer);
              dispose();
              resolve(message.data?.events as { type: string; data: { name: string } });
            },
            error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
            complete: () => undefined,
          },
        );
      });
      // The consumer exists once the subscription is counted: an event committed after that reaches it.
      const deadline = Date.now() + 10_000;
      while (feed.activeSubscriptions === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(feed.activeSubscriptions).toBe(1);
      await gql(CREATE_SITE, { input: { name: 'Lab Live' } });
      await expect(received).resolves.toMatchObject({ type: 'SiteCreated', data: { name: 'Lab Live' } });
    } finally {
      await client.dispose();
    }
  });

  it('pages through `events` with cursors that join up', async () => {
    for (let i = 0; i < 5; i++) expect((await gql(CREATE_SITE, { input: { name: `page-${i}` } })).errors).toBeUndefined();
    const EVENTS = 'query($after: String) { events(first: 3, after: $after, type: "SiteCreated") { edges { cursor node { globalPosition type } } pageInfo { hasNextPage endCursor } } }';
    type Page = { events: { edges: { cursor: string; node: { globalPosition: number; type: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const positions: number[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page: GqlResponse<Page> = await gql<Page>(EVENTS, { after }, null);
      expect(page.errors).toBeUndefined();
      const edges = page.data?.events.edges ?? [];
      positions.push(...edges.map((e) => e.node.globalPosition));
      edges.forEach((e) => expect(e.cursor).toBe(String(e.node.globalPosition)));
      after = page.data?.events.pageInfo.endCursor ?? null;
      if (!page.data?.events.pageInfo.hasNextPage) break;
    }
    const all = await gql<Page>('{ events(first: 500, type: "SiteCreated") { edges { cursor node { globalPosition type } } pageInfo { hasNextPage endCursor } } }', {}, null);
    expect(positions).toEqual(all.data?.events.edges.map((e) => e.node.globalPosition));
    expect(positions.length).toBeGreaterThanOrEqual(7);
  });

  it('time-travels a device: `device(id, atPosition)` returns its size before a resize', async () => {
    const MiB = 1024 * 1024;
    const site = await gql<{ createSite: { aggregateId: string } }>(CREATE_SITE, { input: { name: 'Lab TT' } });
    const cluster = await gql<{ createCluster: { aggregateId: string } }>('mutation($input: CreateClusterInput!) { createCluster(input: $input) { aggregateId } }', {
      input: { siteId: site.data?.createSite.aggregateId, name: 'tt-cluster' },
    });
    const clusterId = cluster.data?.createCluster.aggregateId;
    const nodeId = randomUUID();
    const node = await gql('mutation($input: RegisterNodeInput!) { registerNode(input: $input) { aggregateId } }', {
      input: { nodeId, name: 'tt-node', version: '1.0.0', build: 'b1', portals: [{ host: '127.0.0.11' }], capacityBytes: 1024 * MiB },
    });
    expect(node.errors).toBeUndefined();
    expect((await gql('mutation($input: NodeClusterInput!) { addNodeToCluster(input: $input) { aggregateId } }', { input: { nodeId, clusterId } })).errors).toBeUndefined();
    const device = await gql<{ createDevice: { aggregateId: string; globalPosition: number } }>(
      'mutation($input: CreateDeviceInput!) { createDevice(input: $input) { aggregateId globalPosition } }',
      { input: { clusterId, name: 'tt-disk', sizeBytes: 64 * MiB, replicas: [{ nodeId, priority: 100 }] } },
    );
    expect(device.errors).toBeUndefined();
    const deviceId = device.data?.createDevice.aggregateId;
    const resized = await gql('mutation($input: ResizeDeviceInput!) { resizeDevice(input: $input) { device { sizeBytes } } }', { input: { deviceId, sizeBytes: 128 * MiB } });
    expect(resized.data).toEqual({ resizeDevice: { device: { sizeBytes: 128 * MiB } } });

    const DEVICE = 'query($id: ID!, $at: SafeInt) { device(id: $id, atPosition: $at) { name sizeBytes state replicas { priority state export iscsiUrl node { name } } cluster { name nodes { name devices { name } } } } }';
    const now = await gql<{ device: { sizeBytes: number } }>(DEVICE, { id: deviceId }, null);
    expect(now.errors).toBeUndefined();
    expect(now.data?.device).toEqual({
      name: 'tt-disk',
      sizeBytes: 128 * MiB,
      // No node agent runs here, so nothing has exported it.
      state: 'PENDING',
      replicas: [{ priority: 100, state: 'ACTIVE', export: 'PENDING', iscsiUrl: null, node: { name: 'tt-node' } }],
      cluster: { name: 'tt-cluster', nodes: [{ name: 'tt-node', devices: [{ name: 'tt-disk' }] }] },
    });
    const before = await gql<{ device: { sizeBytes: number } }>(DEVICE, { id: deviceId, at: device.data?.createDevice.globalPosition }, null);
    expect(before.errors).toBeUndefined();
    expect(before.data?.device.sizeBytes).toBe(64 * MiB);
    const beforeCreation = await gql(DEVICE, { id: deviceId, at: (device.data?.createDevice.globalPosition ?? 1) - 1 }, null);
    expect(beforeCreation.data).toEqual({ device: null });
  });
  it('pages every fleet list as a Relay connection whose cursors join up; a foreign or forged cursor is BAD_USER_INPUT', async () => {
    type Page = { sites: { edges: { cursor: string; node: { id: string; name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number } };
    const SITES = 'query($after: String) { sites(first: 2, after: $after) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } totalCount } }';
    const all = await gql<Page>('{ sites(first: 500) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } totalCount } }', {}, null);
    expect(all.data?.sites.pageInfo.hasNextPage).toBe(false);
    expect(all.data?.sites.totalCount).toBe(all.data?.sites.edges.length);
    const paged: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page: GqlResponse<Page> = await gql<Page>(SITES, { after }, null);
      expect(page.errors).toBeUndefined();
      expect(page.data?.sites.totalCount).toBe(all.data?.sites.totalCount);
      paged.push(...(page.data?.sites.edges ?? []).map((e) => e.node.id));
      after = page.data?.sites.pageInfo.endCursor ?? null;
      if (!page.data?.sites.pageInfo.hasNextPage) break;
    }
    expect(paged).toEqual(all.data?.sites.edges.map((e) => e.node.id));
    expect(paged.length).toBeGreaterThanOrEqual(7);

    const foreign = await gql('query($after: String) { storageNodes(after: $after) { totalCount } }', { after: all.data?.sites.edges[0].cursor }, null);
    expect(codes(foreign)).toEqual(['BAD_USER_INPUT']);
    const forged = await gql('{ devices(after: "not-a-cursor") { totalCount } }', {}, null);
    expect(codes(forged)).toEqual(['BAD_USER_INPUT']);
    expect(forged.errors?.[0].message).toMatch(/is not a Device cursor from this API/);
    const tooMany = await gql('{ clusters(first: 501) { totalCount } }', {}, null);
    expect(codes(tooMany)).toEqual(['BAD_USER_INPUT']);
  });

  it("filters devices by derived state and storage nodes by health, finds any object by node(id), and deviceChanged follows the device's replica and alert events", async () => {
    const MiB = 1024 * 1024;
    const site = await gql<{ createSite: { aggregateId: string } }>(CREATE_SITE, { input: { name: 'Lab Live Device' } });
    const cluster = await gql<{ createCluster: { aggregateId: string } }>('mutation($input: CreateClusterInput!) { createCluster(input: $input) { aggregateId } }', {
      input: { siteId: site.data?.createSite.aggregateId, name: 'live-cluster', haStrategy: 'NODE_MAJORITY' },
    });
    const clusterId = cluster.data!.createCluster.aggregateId;
    const nodeId = randomUUID();
    await gql('mutation($input: RegisterNodeInput!) { registerNode(input: $input) { aggregateId } }', {
      input: { nodeId, name: 'live-node', version: '1.0.0', build: 'b1', portals: [{ host: '127.0.0.12' }], capacityBytes: 1024 * MiB },
    });
    await gql('mutation($input: NodeClusterInput!) { addNodeToCluster(input: $input) { aggregateId } }', { input: { nodeId, clusterId } });
    const create = (name: string) =>
      gql<{ createDevice: { aggregateId: string; device: { storeKind: string; cacheMode: string } } }>(
        'mutation($input: CreateDeviceInput!) { createDevice(input: $input) { aggregateId device { storeKind cacheMode } } }',
        { input: { clusterId, name, sizeBytes: 16 * MiB, cacheMode: 'WRITE_BACK', replicas: [{ nodeId, priority: 100 }] } },
      );
    const live = await create('live-disk');
    expect(live.data?.createDevice.device).toEqual({ storeKind: 'FLAT', cacheMode: 'WRITE_BACK' });
    const liveId = live.data!.createDevice.aggregateId;
    const idleId = (await create('idle-disk')).data!.createDevice.aggregateId;
    const clusterView = await gql<{ cluster: { haStrategy: string } }>('query($id: ID!) { cluster(id: $id) { haStrategy } }', { id: clusterId }, null);
    expect(clusterView.data?.cluster.haStrategy).toBe('NODE_MAJORITY');

    // A deviceChanged subscription, then what a node agent and the orchestrator's alerting would append.
    const feed = app.get(await import('./events/eventFeed').then((m) => m.EventFeed));
    const client: Client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    try {
      type Change = { deviceId: string; event: { type: string }; device: { replicas: { export: string }[] } | null };
      const changes: Change[] = [];
      const subscribed = feed.activeSubscriptions;
      const three = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`3 changes expected within 15 s, got ${JSON.stringify(changes)}`)), 15_000);
        client.subscribe<{ deviceChanged: Change }>(
          { query: 'subscription($id: ID) { deviceChanged(deviceId: $id) { deviceId event { type } device { replicas { export } } } }', variables: { id: liveId } },
          {
            next: (message) => {
              if (message.errors) return reject(new Error(JSON.stringify(message.errors)));
              changes.push(message.data!.deviceChanged);
              if (changes.length === 3) {
                clearTimeout(timer);
                resolve();
              }
            },
            error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
            complete: () => undefined,
          },
        );
      });
      const deadline = Date.now() + 10_000;
      while (feed.activeSubscriptions === subscribed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const now = new Date().toISOString();
      const reported = { nodeId, occurredAt: now };
      await appendToStream(db.store, `agent-${nodeId}`, [
        { type: 'ReplicaExported', data: { ...reported, nodeSequence: 1, deviceId: liveId, targetName: 'iqn.2026-11.io.tandem:live-disk', lun: 0, sizeBytes: 16 * MiB, sectorSize: 512 } },
        { type: 'ReplicaExported', data: { ...reported, nodeSequence: 2, deviceId: idleId, targetName: 'iqn.2026-11.io.tandem:idle-disk', lun: 0, sizeBytes: 16 * MiB, sectorSize: 512 } },
        { type: 'NodeHealthChanged', data: { ...reported, nodeSequence: 3, health: 'degraded', reason: 'disk nearly full' } },
        { type: 'ReplicaWithdrawn', data: { ...reported, nodeSequence: 4, deviceId: liveId, targetName: 'iqn.2026-11.io.tandem:live-disk', lun: 0, dataDestroyed: false } },
      ]);
      const subject = { kind: 'device', id: liveId, name: 'live-disk' };
      await appendToStream(db.store, `alert-DeviceOffline-device-${liveId}`, [
        { type: 'AlertRaised', data: { alertId: randomUUID(), kind: 'DeviceOffline', severity: 'critical', subject, message: 'live-disk: no replica serves', evidence: {}, raisedAt: now } },
      ]);
      await three;
      expect(changes.map((c) => [c.deviceId, c.event.type])).toEqual([
        [liveId, 'ReplicaExported'],
        [liveId, 'ReplicaWithdrawn'],
        [liveId, 'AlertRaised'],
      ]);
      // Each change carries the device as the read models hold it after the event: withdrawn by the last one.
      expect(changes[2].device?.replicas).toEqual([{ export: 'WITHDRAWN' }]);
    } finally {
      await client.dispose();
    }

    // Derived filters: the withdrawn device and the exported one are in different states, each found by its own.
    type States = { devices: { edges: { node: { id: string; state: string } }[]; totalCount: number } };
    const every = await gql<States>('query($c: ID!) { devices(clusterId: $c) { edges { node { id state } } totalCount } }', { c: clusterId }, null);
    expect(every.data?.devices.totalCount).toBe(2);
    const stateOf = new Map(every.data?.devices.edges.map((e) => [e.node.id, e.node.state]));
    expect(stateOf.get(liveId)).not.toBe(stateOf.get(idleId));
    for (const id of [liveId, idleId]) {
      const only = await gql<States>('query($c: ID!, $s: [DeviceState!]) { devices(clusterId: $c, state: $s, first: 1) { edges { node { id state } } totalCount pageInfo { hasNextPage } } }', { c: clusterId, s: [stateOf.get(id)] }, null);
      expect(only.data?.devices.edges.map((e) => e.node.id)).toEqual([id]);
      expect(only.data?.devices.totalCount).toBe(1);
    }
    const both = await gql<States & { devices: { pageInfo: { hasNextPage: boolean; endCursor: string } } }>(
      'query($c: ID!, $s: [DeviceState!]) { devices(clusterId: $c, state: $s, first: 1) { edges { node { id state } } totalCount pageInfo { hasNextPage endCursor } } }',
      { c: clusterId, s: [...new Set(stateOf.values())] },
      null,
    );
    expect([both.data?.devices.totalCount, both.data?.devices.pageInfo.hasNextPage]).toEqual([2, true]);
    const second = await gql<States>('query($c: ID!, $s: [DeviceState!], $a: String) { devices(clusterId: $c, state: $s, first: 1, after: $a) { edges { node { id state } } } }', {
      c: clusterId,
      s: [...new Set(stateOf.values())],
      a: both.data?.devices.pageInfo.endCursor,
    }, null);
    // Pages of a derived filter join up like plain ones: idle-disk, then live-disk (by name).
    expect([...(both.data?.devices.edges ?? []), ...(second.data?.devices.edges ?? [])].map((e) => e.node.id)).toEqual([idleId, liveId]);

    type Nodes = { storageNodes: { edges: { node: { id: string; health: string } }[] } };
    const degraded = await gql<Nodes>('query($c: ID!) { storageNodes(clusterId: $c, health: DEGRADED) { edges { node { id health } } } }', { c: clusterId }, null);
    expect(degraded.data?.storageNodes.edges).toEqual([{ node: { id: nodeId, health: 'DEGRADED' } }]);
    const ok = await gql<Nodes>('query($c: ID!) { storageNodes(clusterId: $c, health: [OK, UNREACHABLE]) { edges { node { id health } } } }', { c: clusterId }, null);
    expect(ok.data?.storageNodes.edges).toEqual([]);

    const NODE = 'query($id: ID!) { node(id: $id) { __typename id ... on Device { name } ... on StorageNode { name } ... on Cluster { name } } }';
    expect((await gql(NODE, { id: liveId }, null)).data).toEqual({ node: { __typename: 'Device', id: liveId, name: 'live-disk' } });
    expect((await gql(NODE, { id: nodeId }, null)).data).toEqual({ node: { __typename: 'StorageNode', id: nodeId, name: 'live-node' } });
    expect((await gql(NODE, { id: clusterId }, null)).data).toEqual({ node: { __typename: 'Cluster', id: clusterId, name: 'live-cluster' } });
    expect((await gql(NODE, { id: randomUUID() }, null)).data).toEqual({ node: null });
    expect(codes(await gql(NODE, { id: 'x' }, null))).toEqual(['BAD_USER_INPUT']);

    type Alerts = { alerts: { edges: { node: { kind: string; severity: string; subject: { id: string } } }[] } };
    const alerts = await gql<Alerts>('query($s: ID) { alerts(subject: $s, severity: [CRITICAL, WARNING]) { edges { node { kind severity subject { id } } } } }', { s: liveId }, null);
    expect(alerts.data?.alerts.edges).toEqual([{ node: { kind: 'DeviceOffline', severity: 'CRITICAL', subject: { id: liveId } } }]);
    const info = await gql<Alerts>('query($s: ID) { alerts(subject: $s, severity: INFO) { edges { node { kind } } } }', { s: liveId }, null);
    expect(info.data?.alerts.edges).toEqual([]);
  });
});
