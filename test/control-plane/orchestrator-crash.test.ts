// The orchestrator killed (SIGKILL) while it commits and publishes: after a restart every committed event is on
// JetStream exactly once — nothing lost between commit and publish, nothing duplicated for consumers.
import { randomBytes, randomUUID } from 'crypto';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { Client } from 'pg';
import { connect, NatsConnection, StringCodec } from 'nats';
import { CreateSite } from '@tandem/contracts';
import { spawnTracked, stopChild } from '@tandem/testing';
import { missingServices } from '../support/services';
import { REPO_ROOT } from '../support/target';

const POSTGRES_URL = process.env.TANDEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.TANDEM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const ORCHESTRATOR = path.join(REPO_ROOT, 'apps', 'orchestrator', 'dist', 'main.js');
const KILLS = 4;
const sc = StringCodec();

const MISSING = missingServices({ postgres: true, nats: true });
if (MISSING) console.warn(`SKIPPED orchestrator crash test: ${MISSING}`);
const maybe = MISSING ? describe.skip : describe;

maybe('orchestrator killed between commit and publish', () => {
  const tag = `crash_${randomBytes(4).toString('hex')}`;
  const schema = tag;
  const prefix = tag;
  const stream = `TANDEM_EVENTS_${tag.toUpperCase()}`;
  const env = { ...process.env, DATABASE_URL: POSTGRES_URL, NATS_URL, TANDEM_DB_SCHEMA: schema, TANDEM_SUBJECT_PREFIX: prefix, TANDEM_EVENTS_STREAM: stream };
  let nc: NatsConnection;
  let child: ChildProcess | undefined;

  const start = () => {
    child = spawnTracked(process.execPath, [ORCHESTRATOR], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.resume();
    child.stderr?.resume();
  };
  const createSite = async (i: number): Promise<boolean> => {
    const message = { commandId: randomUUID(), type: 'CreateSite', schemaVersion: 1, payload: { name: `site-${i}` }, metadata: { actor: 'system:crash-test' } };
    try {
      const reply = await nc.request(`${prefix}.${CreateSite.subject}`, sc.encode(JSON.stringify(message)), { timeout: 1500 });
      return JSON.parse(sc.decode(reply.data)).ok === true;
    } catch {
      return false; // no orchestrator listening right now (killed, or not up yet)
    }
  };
  const waitUntilServing = async (i: number) => {
    for (const until = Date.now() + 30000; Date.now() < until; ) if (await createSite(i)) return;
    throw new Error('orchestrator did not start serving within 30 s');
  };

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL, timeout: 3000 });
  }, 20000);

  afterAll(async () => {
    if (child) await stopChild(child, 3000);
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    const pg = new Client({ connectionString: POSTGRES_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
  }, 30000);

  it('publishes every committed event exactly once across kill -9 and restarts', async () => {
    let n = 0;
    for (let k = 0; k < KILLS; k++) {
      start();
      await waitUntilServing(n++);
      // A burst of commands, then SIGKILL right after a commit was acknowledged: the outbox is mid-publish.
      const burst = Array.from({ length: 25 }, () => createSite(n++));
      await Promise.race([Promise.all(burst), new Promise((r) => setTimeout(r, 40 + k * 30))]);
      child!.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      await Promise.allSettled(burst);
    }
    start();
    await waitUntilServing(n++);

    const pg = new Client({ connectionString: POSTGRES_URL });
    await pg.connect();
    const { rows } = await pg.query<{ count: string }>(`SELECT count(*) FROM "${schema}".events`);
    await pg.end();
    const committed = Number(rows[0].count);
    expect(committed).toBeGreaterThan(KILLS);

    const jsm = await nc.jetstreamManager();
    let published = -1;
    for (const until = Date.now() + 20000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      published = (await jsm.streams.info(stream)).state.messages;
      if (published >= committed) break;
    }
    expect(published).toBe(committed); // every committed event published, and none twice
  }, 180000);
});
