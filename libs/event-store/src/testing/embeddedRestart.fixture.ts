/** Child-process half of embeddedPostgres.spec.ts: PGlite needs plain Node. Prints one JSON line. */
import { appendToStream } from '../appendToStream';
import { startEmbeddedPostgres } from '../embeddedPostgres';
import { openEventStore } from '../eventStore';
import { readStream } from '../readStream';

async function main(dataDir: string): Promise<void> {
  const first = await startEmbeddedPostgres(dataDir);
  const url1 = first.url;
  try {
    const store = await openEventStore({ url: first.url, schema: 'event_store' });
    await appendToStream(store, 'site-1', [{ type: 'SiteCreated', data: { name: 'lab' } }], { expectedVersion: 'no-stream' });
    await store.close();
  } finally {
    await first.stop();
  }
  const second = await startEmbeddedPostgres(dataDir);
  try {
    const store = await openEventStore({ url: second.url, schema: 'event_store' });
    const { events, currentVersion } = await readStream(store, 'site-1');
    await store.close();
    process.stdout.write(JSON.stringify({ url1, currentVersion, data: events.map((e) => e.data) }) + '\n');
  } finally {
    await second.stop();
  }
}

main(process.argv[2]).catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
