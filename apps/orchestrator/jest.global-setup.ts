/* Probes Postgres and NATS once, each with a bounded connect; passes URLs or skip reasons to the workers via env. */
import { connect } from 'nats';
import { Client } from 'pg';

const CONNECT_TIMEOUT_MS = 3000;

export default async function globalSetup(): Promise<void> {
  const pgUrl = process.env.TANDEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  delete process.env.TANDEM_TEST_POSTGRES_SKIP;
  const client = new Client({ connectionString: pgUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env.TANDEM_TEST_POSTGRES_URL = pgUrl;
  } catch (error) {
    process.env.TANDEM_TEST_POSTGRES_SKIP = `Postgres unreachable at ${pgUrl.replace(/:[^:@/]*@/, ':***@')} within ${CONNECT_TIMEOUT_MS} ms (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }

  const natsUrl = process.env.TANDEM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
  delete process.env.TANDEM_TEST_NATS_SKIP;
  try {
    const nc = await connect({ servers: natsUrl, timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: 0 });
    try {
      await (await nc.jetstreamManager()).getAccountInfo();
      process.env.TANDEM_TEST_NATS_URL = natsUrl;
    } catch (error) {
      process.env.TANDEM_TEST_NATS_SKIP = `NATS at ${natsUrl} has no JetStream (${(error as Error).message})`;
    } finally {
      await nc.close();
    }
  } catch (error) {
    process.env.TANDEM_TEST_NATS_SKIP = `NATS unreachable at ${natsUrl} within ${CONNECT_TIMEOUT_MS} ms (${(error as Error).message})`;
  }
}
