// Run by embeddedPostgres.spec.ts in a child Node: many pg connections at once against the embedded server,
// parameterised statements of different shapes and interleaved transactions, one of them abandoned mid-way.
import { Client, Pool } from 'pg';
import { startEmbeddedPostgres } from '../embeddedPostgres';

async function main(): Promise<void> {
  const embedded = await startEmbeddedPostgres('memory://');
  const pool = new Pool({ connectionString: embedded.url, max: 8 });
  try {
    await pool.query('CREATE TABLE t (id int PRIMARY KEY, a text, b text)');
    // Different parameter counts in flight on different connections: each must bind its own statement.
    const writes = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0 ? pool.query('INSERT INTO t (id, a) VALUES ($1, $2)', [i, `a${i}`]) : pool.query('INSERT INTO t (id, a, b) VALUES ($1, $2, $3)', [i, `a${i}`, `b${i}`]),
    );
    // Transactions on their own connections, interleaved with the above: each sees only its own uncommitted row.
    const transactions = Array.from({ length: 10 }, async (_, k) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO t (id, a) VALUES ($1, $2)', [1000 + k, 'tx']);
        const seen = await client.query('SELECT count(*)::int AS n FROM t WHERE id >= 1000');
        await client.query(k % 2 === 0 ? 'COMMIT' : 'ROLLBACK');
        return seen.rows[0].n as number;
      } finally {
        client.release();
      }
    });
    await Promise.all(writes);
    const seenInTransactions = await Promise.all(transactions);
    // A client that leaves inside a transaction: rolled back, and the others carry on.
    const abandoned = new Client({ connectionString: embedded.url });
    abandoned.on('error', () => undefined); // it is cut off on purpose
    await abandoned.connect();
    await abandoned.query('BEGIN');
    await abandoned.query('INSERT INTO t (id, a) VALUES (5000, $1)', ['lost']);
    (abandoned as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const after = await pool.query('SELECT count(*)::int AS n, count(b)::int AS with_b, count(*) FILTER (WHERE id >= 1000)::int AS tx, count(*) FILTER (WHERE id = 5000)::int AS lost FROM t');
    process.stdout.write(`${JSON.stringify({ ...after.rows[0], seenInTransactions })}\n`);
  } finally {
    await pool.end();
    await embedded.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
