/**
 * Quick figures, not a test: append throughput with 1 and 8 writers (one event per append, and batches),
 * and replay rate of readAll. Run: node libs/event-store/src/testing/run-ts.js libs/event-store/bench/eventStoreBench.ts [postgres|pglite]
 * Uses a throw-away schema on 127.0.0.1:5432/test (or an in-memory PGlite) and drops it afterwards.
 */
import { randomBytes } from 'crypto';
import { appendToStream } from '../src/appendToStream';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/embeddedPostgres';
import { openEventStore, type OpenedEventStore } from '../src/eventStore';
import { readAll } from '../src/readAll';

const data = { deviceId: '0b7c6f9e-4a43-4d55-9b8e-0e2a1c3f5d71', sizeBytes: 1073741824, previousSizeBytes: 536870912 };
const metadata = { correlationId: '5f0c1b8e-8a9a-4c55-9d1e-2f3a4b5c6d7e', actor: 'system:bench' };

async function appendRate(store: OpenedEventStore, writers: number, appends: number, batch: number): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (next < appends) {
        const i = next++;
        const events = Array.from({ length: batch }, () => ({ type: 'DeviceResized', data, metadata }));
        await appendToStream(store, `device-${w}-${i % 50}`, events);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (appends * batch) / seconds;
}

async function replayRate(store: OpenedEventStore): Promise<{ events: number; rate: number }> {
  let after = 0;
  let events = 0;
  const start = process.hrtime.bigint();
  for (;;) {
    const page = await readAll(store, { after, limit: 1000 });
    events += page.events.length;
    after = page.nextPosition;
    if (page.isEnd) break;
  }
  return { events, rate: events / (Number(process.hrtime.bigint() - start) / 1e9) };
}

async function main(target: string): Promise<void> {
  let embedded: EmbeddedPostgres | undefined;
  const url = target === 'pglite' ? (embedded = await startEmbeddedPostgres('memory://')).url : (process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const schema = `es_bench_${randomBytes(3).toString('hex')}`;
  const store = await openEventStore({ url, schema, poolSize: 10 });
  const scale = target === 'pglite' ? 0.5 : 1;
  try {
    const row = (label: string, value: number) => console.log(`${target.padEnd(8)} ${label.padEnd(44)} ${Math.round(value).toLocaleString('en-US').padStart(10)}`);
    row('appends/s, 1 writer, 1 event/append', await appendRate(store, 1, 3000 * scale, 1));
    row('appends/s, 8 writers, 1 event/append', await appendRate(store, 8, 8000 * scale, 1));
    row('events/s, 1 writer, 100 events/append', await appendRate(store, 1, 300 * scale, 100));
    row('events/s, 8 writers, 100 events/append', await appendRate(store, 8, 800 * scale, 100));
    const replay = await replayRate(store);
    row(`replay events/s (readAll pages of 1000, ${replay.events} events)`, replay.rate);
  } finally {
    await store.dataSource.query(`DROP SCHEMA "${schema}" CASCADE`);
    await store.close();
    await embedded?.stop();
  }
}

main(process.argv[2] ?? 'postgres').catch((error) => {
  console.error(error);
  process.exit(1);
});
