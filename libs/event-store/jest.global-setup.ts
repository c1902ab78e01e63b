/* Probes Postgres (bounded connect timeout) and starts PGlite; passes URLs or skip reasons to the workers via env. */
import { Client } from 'pg';
import { startEmbeddedPostgres } from './src/embeddedPostgres';

const CONNECT_TIMEOUT_MS = 3000;

export default async function globalSetup(): Promise<void> {
  const url = process.env.TANDEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  delete process.env.TANDEM_TEST_POSTGRES_SKIP;
  if (process.env.TANDEM_TEST_POSTGRES === '0') {
    process.env.TANDEM_TEST_POSTGRES_SKIP = 'disabled by TANDEM_TEST_POSTGRES=0';
  } else {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    try {
      await client.connect();
      await client.query('SELECT 1');
      process.env.TANDEM_TEST_POSTGRES_URL = url;
    } catch (error) {
      process.env.TANDEM_TEST_POSTGRES_SKIP = `Postgres unreachable at ${url.replace(/:[^:@/]*@/, ':***@')} within ${CONNECT_TIMEOUT_MS} ms (${(error as Error).message})`;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  delete process.env.TANDEM_TEST_PGLITE_SKIP;
  if (process.env.TANDEM_TEST_PGLITE === '0') {
    process.env.TANDEM_TEST_PGLITE_SKIP = 'disabled by TANDEM_TEST_PGLITE=0';
  } else {
    try {
      const embedded = await startEmbeddedPostgres('memory://');
      (globalThis as { __tandemEmbeddedPostgres?: unknown }).__tandemEmbeddedPostgres = embedded;
      process.env.TANDEM_TEST_PGLITE_URL = embedded.url;
    } catch (error) {
      process.env.TANDEM_TEST_PGLITE_SKIP = `PGlite could not start: ${(error as Error).message}`;
    }
  }
}
