/**
 * `npm run bench:control`: control-plane figures (issue #4, acceptance item 5). A benchmark, not a test: it prints
 * figures and a closing table (figure, target, met?) to record in docs/benchmarks.md.
 *   (a) appends/s, one event per append (a command's worth), 1 writer and 8 concurrent writers;
 *   (b) replay rate of a 1,000,000-event log: `readAll` paging through it, and `rebuildReadModels` (the projection);
 *   (c) GraphQL latency p50/p99 against a fleet of 1,000 nodes and 10,000 devices seeded through the CommandBus.
 * (a) and (b) run on Postgres and on the embedded PGlite (served over the wire protocol); (c) on Postgres.
 * Throw-away schemas (`bench_ctl_*`), JetStream stream and subject prefix are unique to the run and removed after.
 * A part whose Postgres, PGlite or NATS cannot be reached is skipped with the reason; nothing waits unbounded.
 *
 * Run: `npm run bench:control` (builds the gateway and what it uses with `tsc -b apps/gateway`, then runs this file
 * with `node libs/event-store/src/testing/run-ts.js test/bench/bench-control.ts`).
 * Environment:
 *   BENCH_PG_URL        Postgres (default postgres://postgres@127.0.0.1:5432/test)
 *   NATS_URL            NATS with JetStream (default nats://127.0.0.1:4222)
 *   BENCH_TARGETS       databases, default `postgres,pglite`
 *   BENCH_PARTS         parts, default `append,replay,graphql`
 *   BENCH_SCALE         multiplies every count (default 1; e.g. 0.1 for a quick look)
 *   BENCH_REPLAY_EVENTS log size for (b) on Postgres (default 1,000,000); BENCH_PGLITE_REPLAY_EVENTS on PGlite
 *   BENCH_GRAPHQL_CONCURRENCY  concurrent GraphQL clients, one run each (default `1,8`)
 *   BENCH_MAX_MINUTES   hard stop for the whole run, cleaning up first (default 15)
 */
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Client, Pool } from 'pg';
import { connect as connectNats, type NatsConnection } from 'nats';
import { appendToStream, dropSchemasWithPrefix, openEventStore, readAll, startEmbeddedPostgres, type EmbeddedPostgres, type EventStore } from '@tandem/event-store';
import { CommandBus, openOrchestratorDatabase, ReadModelProjector, rebuildReadModels, type OrchestratorDatabase } from '@tandem/orchestrator';
import { bootstrapGateway, settingsFromEnv } from '@tandem/gateway';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const env = process.env;
const PG_URL = env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = env.NATS_URL ?? 'nats://127.0.0.1:4222';
const TARGETS = (env.BENCH_TARGETS ?? 'postgres,pglite').split(',').map((s) => s.trim()) as Target[];
const PARTS = new Set((env.BENCH_PARTS ?? 'append,replay,graphql').split(',').map((s) => s.trim()));
const SCALE = Number(env.BENCH_SCALE ?? 1);
const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));
const REPLAY_EVENTS = { postgres: Number(env.BENCH_REPLAY_EVENTS ?? scaled(1_000_000, 20_000)), pglite: Number(env.BENCH_PGLITE_REPLAY_EVENTS ?? scaled(1_000_000, 20_000)) };
const MAX_MS = Number(env.BENCH_MAX_MINUTES ?? 15) * 60_000;
const GRAPHQL_CONCURRENCY = (env.BENCH_GRAPHQL_CONCURRENCY ?? '1,8').split(',').map(Number).filter((n) => n >= 1);
const TAG = `${process.pid}_${randomBytes(3).toString('hex')}`;
const SCHEMA_PREFIX = `bench_ctl_${TAG}`;
const ACTOR = 'system:bench';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

type Target = 'postgres' | 'pglite';

// ---------------------------------------------------------------------------------------------------------------
// Results and the closing table

interface Result {
  figure: string;
  db: string;
  value: number | string;
  unit: string;
  /** e.g. { atLeast: 5000 } or { below: 50 } */
  target?: { atLeast?: number; below?: number };
  note?: string;
}
const results: Result[] = [];
const skipped: string[] = [];

const fmt = (n: number) => (Number.isInteger(n) || Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
function record(result: Result): void {
  results.push(result);
  const value = typeof result.value === 'number' ? fmt(result.value) : result.value;
  console.log(`  ${result.db.padEnd(8)} ${result.figure.padEnd(58)} ${value.padStart(10)} ${result.unit}${result.note ? `  (${result.note})` : ''}`);
}
function skip(part: string, reason: string): void {
  const line = `SKIPPED ${part}: ${reason}`;
  skipped.push(line);
  console.log(line);
}
const targetText = (t: Result['target']) => (t === undefined ? '' : t.atLeast !== undefined ? `≥ ${fmt(t.atLeast)}` : `< ${fmt(t.below as number)}`);
const met = (r: Result) =>
  r.target === undefined || typeof r.value !== 'number' ? '' : (r.target.atLeast !== undefined ? r.value >= r.target.atLeast : r.value < (r.target.below as number)) ? 'yes' : 'NO';

function printTable(): void {
  console.log('\n| figure | database | value | target | met | notes |');
  console.log('|---|---|---:|---:|:---:|---|');
  for (const r of results) {
    const value = typeof r.value === 'number' ? fmt(r.value) : r.value;
    console.log(`| ${r.figure} | ${r.db} | ${value} ${r.unit} | ${targetText(r.target)} | ${met(r)} | ${r.note ?? ''} |`);
  }
  for (const line of skipped) console.log(line);
}

// ---------------------------------------------------------------------------------------------------------------
// Clean-up: everything the run created, whatever happens (also on the time limit and on Ctrl-C)

const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
const onCleanup = (name: string, run: () => Promise<unknown>) => cleanups.push({ name, run });
let cleaningUp: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const { name, run } of cleanups.splice(0).reverse()) {
      await withTimeout(run(), 30_000, `clean-up ${name}`).catch((error) => console.error(`clean-up ${name} failed: ${(error as Error).message}`));
    }
  })();
  return cleaningUp;
}
async function abort(reason: string, code: number): Promise<never> {
  console.error(`\nbench: ${reason}; cleaning up`);
  printTable();
  await cleanUp();
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Runs `count` tasks on `workers` concurrent workers, stopping early (and saying so) at `deadlineMs`. */
async function runConcurrently(count: number, workers: number, deadlineMs: number, task: (i: number, worker: number) => Promise<void>): Promise<{ done: number; seconds: number; stoppedEarly: boolean }> {
  let next = 0;
  let done = 0;
  const deadline = Date.now() + deadlineMs;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (next < count && Date.now() < deadline) {
        const i = next++;
        await task(i, w);
        done++;
      }
    }),
  );
  return { done, seconds: seconds(start), stoppedEarly: done < count };
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000, query_timeout: 3000 });
  try {
    await withTimeout(client.connect(), 4000, 'connect');
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `Postgres at ${PG_URL} unreachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function postgresFacts(): Promise<string> {
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000, query_timeout: 3000 });
  await client.connect();
  try {
    const version = (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;
    const settings = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay') ORDER BY name`,
    );
    return `PostgreSQL ${version}; ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')}`;
  } finally {
    await client.end();
  }
}

/** WAL flushes so far (cluster-wide; pg_stat_wal, Postgres ≥ 14): shows how many commits shared one fsync. */
async function walSyncs(url: string): Promise<number | undefined> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000, query_timeout: 3000 });
  try {
    await client.connect();
    return Number((await client.query<{ n: string }>('SELECT wal_sync AS n FROM pg_stat_wal')).rows[0].n);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Database {
  target: Target;
  url: string;
  /** A fresh schema name of this run (all start with SCHEMA_PREFIX, dropped at the end). */
  schema(name: string): string;
}

let schemaCounter = 0;
function databaseFor(target: Target, url: string): Database {
  return { target, url, schema: (name) => `${SCHEMA_PREFIX}_${target === 'postgres' ? 'pg' : 'lite'}_${name}_${++schemaCounter}` };
}

// ---------------------------------------------------------------------------------------------------------------
// (a) Appends: one event per append, as one command writes; exact expected versions, as the command bus does.

const resizeData = (deviceId: string, n: number) => ({ deviceId, sizeBytes: GiB + (n + 1) * MiB, previousSizeBytes: GiB + n * MiB });

async function appendPart(db: Database): Promise<void> {
  const pg = db.target === 'postgres';
  const runs = [
    { writers: 1, appends: scaled(pg ? 6000 : 3000, 100) },
    { writers: 8, appends: scaled(pg ? 24000 : 8000, 100) },
  ];
  for (const { writers, appends } of runs) {
    const plural = writers > 1 ? 's' : '';
    await commitFloor(db, writers, appends);
    const store = await openEventStore({ url: db.url, schema: db.schema('append'), poolSize: writers + 2, applicationName: 'tandem-bench' });
    try {
      // 50 device streams per writer; each writer knows its streams' versions, as a command handler would.
      const streams = Array.from({ length: writers }, () => Array.from({ length: 50 }, () => ({ id: randomUUID(), version: 0 })));
      const appendOne = async (i: number, w: number) => {
        const stream = streams[w][i % 50];
        const data = resizeData(stream.id, stream.version);
        const metadata = { correlationId: randomUUID(), causationId: randomUUID(), actor: ACTOR };
        const result = await appendToStream(store, `device-${stream.id}`, [{ type: 'DeviceResized', data, metadata }], { expectedVersion: stream.version === 0 ? 'no-stream' : stream.version });
        stream.version = result.nextExpectedVersion;
      };
      await runConcurrently(Math.min(500, appends), writers, 20_000, appendOne); // warm-up: connections, plans
      const syncsBefore = pg ? await walSyncs(db.url) : undefined;
      const run = await runConcurrently(appends, writers, 60_000, appendOne);
      const syncsAfter = pg ? await walSyncs(db.url) : undefined;
      const notes = [`${fmt(run.done)} appends`];
      if (syncsBefore !== undefined && syncsAfter !== undefined && syncsAfter > syncsBefore) notes.push(`${(run.done / (syncsAfter - syncsBefore)).toFixed(1)} commits per WAL flush`);
      if (run.stoppedEarly) notes.push('stopped at the time limit');
      record({ figure: `append, ${writers} writer${plural}, 1 event/append`, db: db.target, value: run.done / run.seconds, unit: 'appends/s', target: { atLeast: 5000 }, note: notes.join(', ') });
    } finally {
      await store.close();
      if (pg) await dropSchemasWithPrefix(db.url, store.schema);
    }
  }
}

/** The floor beside it: a one-row INSERT per commit straight through pg, no event store — what a commit costs here. */
async function commitFloor(db: Database, writers: number, commits: number): Promise<void> {
  const schema = db.schema('floor');
  const pool = new Pool({ connectionString: db.url, max: writers + 2, connectionTimeoutMillis: 3000 });
  try {
    await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.commits (id bigserial PRIMARY KEY, data jsonb NOT NULL)`);
    const data = JSON.stringify({ deviceId: randomUUID(), sizeBytes: GiB + MiB, previousSizeBytes: GiB });
    const insert = () => pool.query(`INSERT INTO ${schema}.commits (data) VALUES ($1::jsonb)`, [data]).then(() => undefined);
    await runConcurrently(Math.min(500, commits), writers, 20_000, insert);
    const run = await runConcurrently(commits, writers, 60_000, insert);
    record({ figure: `floor: one-row INSERT per commit, plain pg, ${writers} writer${writers > 1 ? 's' : ''}`, db: db.target, value: run.done / run.seconds, unit: 'commits/s', note: 'no event store: the most one commit per append allows here' });
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Fleet seeding through the orchestrator's CommandBus (validation, guards, expected versions, one transaction each)

interface Fleet {
  siteId: string;
  clusterIds: string[];
  nodeIds: string[];
  /** node ids per cluster */
  nodesOf: Map<string, string[]>;
  deviceIds: string[];
  lastPosition: number;
}

async function seedFleet(db: OrchestratorDatabase, target: Target, shape: { clusters: number; nodesPerCluster: number; devices: number }): Promise<Fleet> {
  const bus = new CommandBus(db);
  let lastPosition = 0;
  const ok = async (type: string, payload: unknown) => {
    const reply = await bus.execute({ type, payload }, ACTOR);
    if (!reply.ok) throw new Error(`${type} refused: ${reply.error.code} ${reply.error.message}`);
    if ('globalPosition' in reply && typeof reply.globalPosition === 'number') lastPosition = Math.max(lastPosition, reply.globalPosition);
    return reply;
  };
  const concurrency = 8;
  const started = process.hrtime.bigint();
  const site = await ok('CreateSite', { name: 'bench-site', description: 'bench:control fleet' });
  const clusterIds: string[] = [];
  for (let c = 0; c < shape.clusters; c++) clusterIds.push((await ok('CreateCluster', { siteId: site.aggregateId, name: `cluster-${String(c).padStart(3, '0')}` })).aggregateId);
  const nodeCount = shape.clusters * shape.nodesPerCluster;
  const nodeIds = Array.from({ length: nodeCount }, () => randomUUID());
  const nodesOf = new Map(clusterIds.map((c) => [c, [] as string[]]));
  const deadline = 6 * 60_000;
  const nodes = await runConcurrently(nodeCount, concurrency, deadline, async (i) => {
    const nodeId = nodeIds[i];
    const clusterId = clusterIds[i % shape.clusters];
    const octet = (n: number) => (n % 250) + 1;
    await ok('RegisterNode', {
      nodeId,
      name: `node-${String(i).padStart(4, '0')}`,
      version: '0.1.0',
      build: 'bench',
      portals: [{ host: `10.${octet(i >> 16)}.${octet(i >> 8)}.${octet(i)}`, port: 3260 }],
      capacityBytes: 100 * 1024 * GiB,
    });
    await ok('AddNodeToCluster', { nodeId, clusterId });
    nodesOf.get(clusterId)?.push(nodeId);
  });
  if (nodes.stoppedEarly) throw new Error(`seeding nodes stopped at the time limit after ${nodes.done}`);
  const deviceIds = Array.from({ length: shape.devices }, () => randomUUID());
  const devices = await runConcurrently(shape.devices, concurrency, deadline, async (i) => {
    const clusterId = clusterIds[i % shape.clusters];
    const members = nodesOf.get(clusterId) as string[];
    const nodeId = members[Math.floor(i / shape.clusters) % members.length];
    await ok('CreateDevice', { deviceId: deviceIds[i], clusterId, name: `vol-${String(i).padStart(5, '0')}`, sizeBytes: GiB, replicas: [{ nodeId, priority: 1 }] });
  });
  if (devices.stoppedEarly) throw new Error(`seeding devices stopped at the time limit after ${devices.done}`);
  const commands = 1 + shape.clusters + 2 * nodeCount + shape.devices;
  const elapsed = seconds(started);
  record({
    figure: `fleet seeding via CommandBus, ${concurrency} concurrent commands`,
    db: target,
    value: commands / elapsed,
    unit: 'commands/s',
    note: `${fmt(commands)} commands: ${shape.clusters} clusters, ${fmt(nodeCount)} nodes, ${fmt(shape.devices)} devices, ${elapsed.toFixed(1)} s`,
  });
  return { siteId: site.aggregateId, clusterIds, nodeIds, nodesOf, deviceIds, lastPosition };
}

// ---------------------------------------------------------------------------------------------------------------
// (b) Replay: top the fleet's log up to `total` events with batched DeviceResized appends, then read it all back

async function topUpLog(db: OrchestratorDatabase, target: Target, fleet: Fleet, total: number): Promise<void> {
  const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM ${db.store.table('events')}`);
  const missing = total - n;
  if (missing <= 0) return;
  // Every device gets its share of resizes, appended in batches of up to 1,000 (one multi-row append each).
  const perDevice = Math.ceil(missing / fleet.deviceIds.length);
  const batch = Math.min(1000, perDevice);
  const jobs: { deviceId: string; from: number; count: number }[] = [];
  let left = missing;
  for (const deviceId of fleet.deviceIds) {
    for (let from = 0; from < perDevice && left > 0; from += batch) {
      const count = Math.min(batch, perDevice - from, left);
      jobs.push({ deviceId, from, count });
      left -= count;
    }
  }
  const writers = target === 'postgres' ? 4 : 2;
  const run = await runConcurrently(jobs.length, writers, 6 * 60_000, async (i) => {
    const { deviceId, from, count } = jobs[i];
    const correlationId = randomUUID();
    const events = Array.from({ length: count }, (_, k) => ({ type: 'DeviceResized', data: resizeData(deviceId, from + k), metadata: { correlationId, actor: ACTOR } }));
    await appendToStream(db.store, `device-${deviceId}`, events, { expectedVersion: 1 + from }); // DeviceCreated is version 1
  });
  if (run.stoppedEarly) throw new Error(`seeding the log stopped at the time limit after ${run.done} of ${jobs.length} appends`);
  record({ figure: `log seeding, ${writers} writers, batches of ≤ ${fmt(batch)} events`, db: target, value: missing / run.seconds, unit: 'events/s', note: `${fmt(missing)} events, ${run.seconds.toFixed(1)} s` });
}

async function readAllRate(store: EventStore, limit: number): Promise<{ events: number; seconds: number }> {
  let after = 0;
  let events = 0;
  const start = process.hrtime.bigint();
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await readAll(store, { after, limit });
    events += page.events.length;
    after = page.nextPosition;
    if (page.isEnd) break;
  }
  return { events, seconds: seconds(start) };
}

async function replayPart(db: OrchestratorDatabase, target: Target, fleet: Fleet, total: number): Promise<void> {
  await topUpLog(db, target, fleet, total);
  for (const limit of [1000, 5000]) {
    const read = await readAllRate(db.store, limit);
    record({ figure: `replay: readAll, pages of ${fmt(limit)}`, db: target, value: read.events / read.seconds, unit: 'events/s', target: { atLeast: 50_000 }, note: `${fmt(read.events)} events, ${read.seconds.toFixed(1)} s` });
  }
  const rebuilt = await rebuildReadModels(db);
  record({
    figure: 'replay: rebuildReadModels (projection + table swap)',
    db: target,
    value: rebuilt.events / (rebuilt.elapsedMs / 1000),
    unit: 'events/s',
    target: { atLeast: 50_000 },
    note: `${fmt(rebuilt.events)} events, ${(rebuilt.elapsedMs / 1000).toFixed(1)} s; ${fmt(rebuilt.counts.nodes)} nodes, ${fmt(rebuilt.counts.devices)} devices`,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (c) GraphQL: the gateway in this process, the load from a worker thread (so the client's own work does not
// queue on the gateway's event loop), a fixed number of requests with fixed concurrency.

const QUERIES = {
  'devices of a cluster (100)': `query Devices($clusterId: ID!) { devices(clusterId: $clusterId, first: 100) { edges { node { id name sizeBytes sectorSize state replicas { nodeId export } } } pageInfo { hasNextPage endCursor } } }`,
  'device by id, replicas and node': `query Device($id: ID!) { device(id: $id) { id name sizeBytes sectorSize storeKind cacheMode state version cluster { id name } replicas { priority export iscsiUrl state node { id name portals { host port } inMaintenance health } } } }`,
  'nodes of a cluster (10)': `query Nodes($clusterId: ID!) { cluster(id: $clusterId) { id name haStrategy nodes { id name softwareVersion capacityBytes allocatedBytes inMaintenance health portals { host port } } } }`,
  'events page (50)': `query Events($after: String) { events(first: 50, after: $after) { edges { cursor node { id type streamId streamVersion globalPosition recordedAt data metadata } } pageInfo { endCursor hasNextPage } } }`,
} as const;
type QueryName = keyof typeof QUERIES;

const LOAD_WORKER = `
const { parentPort, workerData } = require('worker_threads');
const { url, token, requests, concurrency } = workerData;
(async () => {
  const latencies = {};
  const errors = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const { name, body, record } = requests[next++];
      const start = process.hrtime.bigint();
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body, signal: AbortSignal.timeout(10000) });
        const json = await response.json();
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (!response.ok || json.errors || !json.data) { if (errors.length < 5) errors.push(name + ': ' + response.status + ' ' + JSON.stringify(json.errors ?? json).slice(0, 300)); continue; }
        if (record) (latencies[name] ??= []).push(ms);
      } catch (error) {
        if (errors.length < 5) errors.push(name + ': ' + error.message);
      }
    }
  }));
  parentPort.postMessage({ latencies, errors });
})();
`;

function runLoad(url: string, token: string, requests: { name: string; body: string; record: boolean }[], concurrency: number): Promise<{ latencies: Record<string, number[]>; errors: string[] }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { url, token, requests, concurrency } });
      worker.once('message', (message) => {
        resolve(message);
        void worker.terminate();
      });
      worker.once('error', reject);
      worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load worker exited with ${code}`))));
    }),
    5 * 60_000,
    'GraphQL load',
  );
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

/** NATS for the gateway, or why not (checked before seeding anything for it). */
async function natsOrReason(): Promise<NatsConnection | string> {
  try {
    return await withTimeout(connectNats({ servers: NATS_URL, timeout: 3000, reconnect: false }), 5000, 'NATS connect');
  } catch (error) {
    return `NATS at ${NATS_URL} unreachable (${(error as Error).message}); the gateway needs it to start`;
  }
}

async function graphqlPart(db: OrchestratorDatabase, fleet: Fleet, nc: NatsConnection): Promise<void> {
  const stream = `TANDEM_EVENTS_BENCH_${TAG}`.toUpperCase();
  const subjectPrefix = `bench_${TAG}`;
  // Nothing here publishes, but a stream of that name would be this run's: remove it if it exists.
  onCleanup(`JetStream stream ${stream}`, async () => (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined));

  // Read models at the head of the log (the replay part already rebuilt them; otherwise the projector catches up).
  const projector = new ReadModelProjector(db, { pollIntervalMs: 50 });
  projector.start();
  onCleanup('read-model projector', () => projector.stop());
  const head = Number((await db.dataSource.query(`SELECT coalesce(max(global_position), 0) AS p FROM ${db.store.table('events')}`))[0].p);
  await projector.waitFor(head, 5 * 60_000);

  const token = randomBytes(32).toString('hex');
  const settings = settingsFromEnv({}, { apiToken: token, host: '127.0.0.1', port: 0, subjectPrefix, eventsStream: stream, natsUrl: NATS_URL, schema: db.schema });
  const { app, url } = await bootstrapGateway(settings, { database: db, logger: ['error', 'warn'] });
  onCleanup('gateway', () => app.close());

  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const variablesFor = (name: QueryName): Record<string, unknown> => {
    switch (name) {
      case 'devices of a cluster (100)':
      case 'nodes of a cluster (10)':
        return { clusterId: pick(fleet.clusterIds) };
      case 'device by id, replicas and node':
        return { id: pick(fleet.deviceIds) };
      case 'events page (50)':
        return { after: String(Math.floor(random() * Math.max(1, head - 50))) };
    }
  };
  const names = Object.keys(QUERIES) as QueryName[];
  const requestsFor = (count: number, warmUp: number) =>
    Array.from({ length: warmUp + count }, (_, i) => {
      const name = i < warmUp ? names[i % names.length] : pick(names);
      return { name, body: JSON.stringify({ query: QUERIES[name], variables: variablesFor(name) }), record: i >= warmUp };
    });
  // First one client at a time (latency with no queueing), then the loaded run the target is about.
  for (const concurrency of GRAPHQL_CONCURRENCY) {
    const perQuery = scaled(concurrency === 1 ? 250 : 1000, 20);
    const requests = requestsFor(perQuery * names.length, scaled(200, 8));
    const started = process.hrtime.bigint();
    const { latencies, errors } = await runLoad(url, token, requests, concurrency);
    const elapsed = seconds(started);
    if (errors.length > 0) console.log(`  GraphQL errors (first ${errors.length}):\n    ${errors.join('\n    ')}`);
    const all: number[] = [];
    const clients = `${concurrency} client${concurrency > 1 ? 's' : ''}`;
    for (const name of names) {
      const sorted = (latencies[name] ?? []).sort((a, b) => a - b);
      all.push(...sorted);
      if (sorted.length === 0) continue;
      record({ figure: `GraphQL p50 / p99, ${name}, ${clients}`, db: 'postgres', value: `${fmt(percentile(sorted, 50))} / ${fmt(percentile(sorted, 99))}`, unit: 'ms', note: `${fmt(sorted.length)} requests` });
    }
    all.sort((a, b) => a - b);
    if (all.length === 0) continue;
    record({ figure: `GraphQL p50, all queries, ${clients}`, db: 'postgres', value: percentile(all, 50), unit: 'ms', note: `${fmt(all.length)} requests, ${(requests.length / elapsed).toFixed(0)} req/s` });
    record({ figure: `GraphQL p99, all queries, ${clients}`, db: 'postgres', value: percentile(all, 99), unit: 'ms', target: { below: 50 }, note: errors.length > 0 ? `${errors.length}+ errors` : undefined });
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function onTarget(target: Target): Promise<void> {
  let url: string;
  let embedded: EmbeddedPostgres | undefined;
  if (target === 'postgres') {
    const unreachable = await postgresReachable();
    if (unreachable) return skip('Postgres parts (a), (b), (c)', unreachable);
    url = PG_URL;
    onCleanup(`drop schemas ${SCHEMA_PREFIX}*`, () => dropSchemasWithPrefix(PG_URL, SCHEMA_PREFIX));
    console.log(`\n== Postgres: ${await postgresFacts()}`);
  } else {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-pglite-'));
    onCleanup(`remove ${dataDir}`, async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    try {
      embedded = await withTimeout(startEmbeddedPostgres(dataDir), 60_000, 'PGlite start');
    } catch (error) {
      return skip('PGlite parts (a), (b)', `the embedded PGlite did not start (${(error as Error).message})`);
    }
    onCleanup('PGlite', () => (embedded as EmbeddedPostgres).stop());
    url = embedded.url;
    console.log(`\n== PGlite (embedded, data directory on disk ${dataDir}), served over the wire protocol at ${url}`);
  }
  const db = databaseFor(target, url);

  if (PARTS.has('append')) {
    console.log(`-- (a) appends, one event per append; load average ${loadAverage()}`);
    await appendPart(db);
  }

  const wantReplay = PARTS.has('replay');
  let nats: NatsConnection | undefined;
  if (PARTS.has('graphql') && target === 'postgres') {
    const reached = await natsOrReason();
    if (typeof reached === 'string') skip('(c) GraphQL latency', reached);
    else {
      const nc = (nats = reached);
      onCleanup('NATS connection', () => nc.close());
    }
  }
  if (!wantReplay && !nats) return;
  const orchestrator = await openOrchestratorDatabase({ url, schema: db.schema('fleet'), poolSize: 12 });
  onCleanup(`close ${orchestrator.schema}`, () => orchestrator.close());
  // The full fleet on Postgres; a tenth of it on PGlite (one backend: seeding 12,000 commands there is slow).
  const shape = target === 'postgres' ? { clusters: 100, nodesPerCluster: 10, devices: scaled(10_000, 100) } : { clusters: 10, nodesPerCluster: 10, devices: scaled(1000, 20) };
  console.log(`-- fleet through the CommandBus; load average ${loadAverage()}`);
  const fleet = await seedFleet(orchestrator, target, shape);
  if (wantReplay) {
    console.log(`-- (b) replay of ${fmt(REPLAY_EVENTS[target])} events; load average ${loadAverage()}`);
    await replayPart(orchestrator, target, fleet, REPLAY_EVENTS[target]);
  }
  if (nats) {
    console.log(`-- (c) GraphQL against ${fmt(fleet.nodeIds.length)} nodes and ${fmt(fleet.deviceIds.length)} devices; load average ${loadAverage()}`);
    await graphqlPart(orchestrator, fleet, nats);
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => void abort(`over BENCH_MAX_MINUTES (${MAX_MS / 60_000} min)`, 2), MAX_MS);
  watchdog.unref();
  process.once('SIGINT', () => void abort('interrupted', 130));
  process.once('SIGTERM', () => void abort('terminated', 143));
  console.log(`bench:control  ${new Date().toISOString()}  ${os.cpus().length} CPUs  node ${process.version}  load average ${loadAverage()}  scale ${SCALE}`);
  const started = Date.now();
  let failed = false;
  for (const target of TARGETS) {
    if (target !== 'postgres' && target !== 'pglite') {
      skip(`target ${JSON.stringify(target)}`, 'BENCH_TARGETS knows postgres and pglite');
      continue;
    }
    try {
      await onTarget(target);
    } catch (error) {
      failed = true;
      console.error(`\n${target}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  console.log(`\nload average ${loadAverage()}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
  printTable();
  await cleanUp();
  process.exit(failed ? 1 : 0);
}

void main();
