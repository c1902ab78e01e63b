import { Client } from 'pg';

/** Drops every schema whose name starts with `prefix` (test runs and throw-away stores use one schema each). */
export async function dropSchemasWithPrefix(url: string, prefix: string): Promise<void> {
  const admin = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${prefix}%`]);
    for (const { nspname } of rows) await admin.query(`DROP SCHEMA "${nspname.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await admin.end();
  }
}
