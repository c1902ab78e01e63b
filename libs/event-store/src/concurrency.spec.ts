/**
 * The proof that readers following the global position never skip an event: many writers append concurrently,
 * some holding their transaction open for a while after reserving positions (late commits), while a reader tails
 * `readAll` page by page. Every event must reach the reader, once, in increasing position order.
 * A naive reader (position only, no visibility horizon) runs beside it to show what the horizon prevents.
 */
import { appendToStream } from './appendToStream';
import type { OpenedEventStore } from './eventStore';
import { readAll } from './readAll';
import { describeEachDatabase } from './testing/describeEachDatabase';

const WRITERS = 8;
const APPENDS_PER_WRITER = 60;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDatabase('concurrent appenders and a tailing reader', (db) => {
  // Batches of 1–4 events mix both append functions (append_event for one, append_to_stream for more); the second
  // run appends one event at a time, the command-sized fast path only.
  it.each([
    ['appends of 1–4 events', (w: number, i: number) => 1 + ((w + i) % 4)],
    ['one event per append', () => 1],
  ])('never skips an event committed late by a concurrent writer (%s)', async (_label, batchSize) => {
    const store: OpenedEventStore = await db.open({ poolSize: WRITERS + 3 });
    let writing = true;

    const writer = async (w: number) => {
      for (let i = 0; i < APPENDS_PER_WRITER; i++) {
        const events = Array.from({ length: batchSize(w, i) }, (_, k) => ({ type: 'Written', data: { w, i, k } }));
        const stream = `writer-${w}-${i % 3}`;
        if (i % 2 === 0 && db.target === 'postgres') {
          // Reserve positions, then dawdle before committing: the classic late commit.
          const runner = store.dataSource.createQueryRunner();
          try {
            await runner.startTransaction();
            await appendToStream(store, stream, events, { runner });
            await runner.query('SELECT pg_sleep($1)', [Math.random() * 0.004]);
            await runner.commitTransaction();
          } finally {
            if (runner.isTransactionActive) await runner.rollbackTransaction();
            await runner.release();
          }
        } else {
          await appendToStream(store, stream, events);
        }
      }
    };

    const seen: number[] = [];
    const reader = async () => {
      let after = 0;
      for (;;) {
        const stillWriting = writing;
        const page = await readAll(store, { after, limit: 7 });
        for (const event of page.events) {
          if (seen.length > 0 && event.globalPosition <= seen[seen.length - 1]) throw new Error(`position went back: ${event.globalPosition}`);
          seen.push(event.globalPosition);
        }
        after = page.nextPosition;
        if (page.isEnd) {
          if (!stillWriting) return;
          await sleep(1);
        }
      }
    };

    // Shows the hazard: follows position only, so a late commit below its checkpoint is lost to it.
    let naiveSkipped = 0;
    const naiveReader = async () => {
      let after = 0;
      const naiveSeen = new Set<number>();
      for (;;) {
        const stillWriting = writing;
        const rows: { p: string }[] = await store.dataSource.query(`SELECT global_position AS p FROM ${store.table('events')} WHERE global_position > $1 ORDER BY global_position LIMIT 7`, [after]);
        for (const row of rows) naiveSeen.add(Number(row.p));
        if (rows.length > 0) after = Number(rows[rows.length - 1].p);
        if (rows.length < 7) {
          if (!stillWriting) break;
          await sleep(1);
        }
      }
      const all: { p: string }[] = await store.dataSource.query(`SELECT global_position AS p FROM ${store.table('events')}`);
      naiveSkipped = all.filter((row) => !naiveSeen.has(Number(row.p))).length;
    };

    const readers = [reader(), naiveReader()];
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writing = false;
    await Promise.all(readers);

    const everything: number[] = [];
    for (let after = 0; ; ) {
      const page = await readAll(store, { after, limit: 1000 });
      everything.push(...page.events.map((e) => e.globalPosition));
      after = page.nextPosition;
      if (page.isEnd) break;
    }
    const expectedEvents = Array.from({ length: WRITERS }, (_, w) => Array.from({ length: APPENDS_PER_WRITER }, (_, i) => batchSize(w, i)).reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0);
    expect(everything).toHaveLength(expectedEvents);
    expect(seen).toEqual(everything);
    console.log(`[${db.target}] ${WRITERS} writers, ${expectedEvents} events: tailing reader saw all; a position-only reader would have skipped ${naiveSkipped}`);
  });
});
