/**
 * Test helpers: run a describe block only when Postgres (and NATS, if needed) answered the global setup's probe,
 * else skip it with the reason; each database opened lives in a schema of its own, dropped after the file.
 */
import { randomBytes } from 'crypto';
import * as path from 'path';
import { dropSchemasWithPrefix } from '@tandem/event-store';
import { openOrchestratorDatabase, type OrchestratorDatabase } from '../database/orchestratorDatabase';

export interface TestInfrastructure {
  readonly postgresUrl: string;
  readonly natsUrl: string;
  /** A database in a fresh schema. */
  openDatabase(): Promise<OrchestratorDatabase>;
  /** A tag unique to this run, for JetStream stream names and subject prefixes. */
  readonly runTag: string;
  /** Runs before the databases close (stop projectors, outboxes, connections). */
  beforeClose(fn: () => Promise<unknown> | unknown): void;
}

export function describeWithInfrastructure(title: string, needs: { nats: boolean }, body: (infra: TestInfrastructure) => void): void {
  const env = process.env;
  const skip =
    env.TANDEM_TEST_POSTGRES_SKIP ??
    (env.TANDEM_TEST_POSTGRES_URL ? undefined : 'jest global setup did not run') ??
    (needs.nats ? (env.TANDEM_TEST_NATS_SKIP ?? (env.TANDEM_TEST_NATS_URL ? undefined : 'jest global setup did not run')) : undefined);
  if (skip !== undefined) {
    describe(title, () => {
      console.warn(`SKIPPED ${title}: ${skip}`);
      test.skip(`${title} [skipped: ${skip}]`, () => undefined);
    });
    return;
  }
  const postgresUrl = env.TANDEM_TEST_POSTGRES_URL as string;
  describe(title, () => {
    const file = path.basename(expect.getState().testPath ?? 'spec', '.spec.ts').toLowerCase().replace(/[^a-z0-9]/g, '_').slice(0, 20);
    const runTag = `${process.pid}_${randomBytes(3).toString('hex')}`;
    const prefix = `orch_${file}_${runTag}`;
    const opened: OrchestratorDatabase[] = [];
    const closers: (() => Promise<unknown> | unknown)[] = [];
    let counter = 0;
    afterAll(async () => {
      for (const close of closers.reverse()) await close();
      await Promise.all(opened.map((db) => db.close().catch(() => undefined)));
      await dropSchemasWithPrefix(postgresUrl, prefix);
    });
    body({
      postgresUrl,
      natsUrl: env.TANDEM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
      runTag,
      beforeClose: (fn) => closers.push(fn),
      async openDatabase() {
        const db = await openOrchestratorDatabase({ url: postgresUrl, schema: `${prefix}_${++counter}`, poolSize: 12 });
        opened.push(db);
        return db;
      },
    });
  });
}

/** How many events the log holds. */
export async function countEvents(db: OrchestratorDatabase): Promise<number> {
  const [row] = await db.dataSource.query(`SELECT count(*)::int AS n FROM ${db.store.table('events')}`);
  return row.n;
}
