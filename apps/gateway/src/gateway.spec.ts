import { randomUUID } from 'crypto';
import type { INestApplication } from '@nestjs/common';
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

  const CREATE_SITE = 'mutation($input: CreateSiteInput!) { createSite(input: $input) { aggregateId globalPosition site { id name } } }';

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
    const sites = await gql<{ sites: { id: string; name: string; description: string }[] }>('{ sites { id name description } }', {}, null);
    expect(sites.data?.sites).toContainEqual({ id: created.data?.createSite.aggregateId, name: 'Lab A', description: 'first' });
  });

  it('maps refusals to extensions.code: malformed input, unknown id, duplicate name', async () => {
    const before = await countEvents(db);
    const malformed = await gql(CREATE_SITE, { input: { name: '  spaces around  ', siteId: 'not-a-uuid' } });
    expect(codes(malformed)).toEqual(['BAD_USER_INPUT']);
    expect(malformed.errors?.[0].message).toMatch(/siteId: must be a UUID/);
    expect(await countEvents(db)).toBe(before);

    const unknown = await gql('mutation($input: RenameSiteInput!) { renameSite(input: $input) { aggregateId } }', { input: { siteId: randomUUID(), name: 'renamed' } });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);

    const duplicate = await gql(CREATE_SITE, { input: { name: 'Lab A' } });
    expect(codes(duplicate)).toEqual(['CONFLICT']);
    expect(await countEvents(db)).toBe(before);
  });

  it('refuses an over-deep query before running it', async () => {
    const deep = await gql('{ sites { clusters { site { clusters { site { clusters { site { clusters { site { name } } } } } } } } } }', {}, null);
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
});
