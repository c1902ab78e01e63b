import { randomUUID } from 'crypto';
import { appendToStream } from './appendToStream';
import type { OpenedEventStore } from './eventStore';
import { readAll, readHeadPosition, readNewestPosition } from './readAll';
import { describeEachDatabase } from './testing/describeEachDatabase';

describeEachDatabase('readAll', (db) => {
  let store: OpenedEventStore;
  let positions: number[] = [];

  beforeAll(async () => {
    store = await db.open();
    for (let i = 0; i < 5; i++) {
      const result = await appendToStream(store, `s-${i % 2}`, [
        { type: i % 2 === 0 ? 'Even' : 'Odd', data: { i, k: 0 } },
        { type: i % 2 === 0 ? 'Even' : 'Odd', data: { i, k: 1 } },
      ]);
      positions = positions.concat(result.globalPositions);
    }
  });

  it('returns every event in global-position order', async () => {
    const { events, isEnd, nextPosition } = await readAll(store);
    expect(events.map((e) => e.globalPosition)).toEqual(positions);
    expect(isEnd).toBe(true);
    expect(nextPosition).toBe(positions[9]);
    expect(await readHeadPosition(store)).toBe(positions[9]);
    expect(await readNewestPosition(store)).toBe(positions[9]);
  });

  it('pages with a keyset on position', async () => {
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await readAll(store, { after, limit: 3 });
      seen.push(...page.events.map((e) => e.globalPosition));
      after = page.nextPosition;
      if (page.isEnd) break;
    }
    expect(seen).toEqual(positions);
  });

  it('stops at an upper bound and filters by type', async () => {
    expect((await readAll(store, { upTo: positions[3] })).events).toHaveLength(4);
    const odd = await readAll(store, { types: ['Odd'] });
    expect(odd.events.map((e) => e.type)).toEqual(['Odd', 'Odd', 'Odd', 'Odd']);
  });

  it('reads nothing after the head', async () => {
    expect(await readAll(store, { after: positions[9] })).toEqual({ events: [], nextPosition: positions[9], isEnd: true });
  });
});

// A transaction that reserved a lower position but commits later must hold readers back, not be skipped.
// (PGlite runs one transaction at a time, so no commit can be late there: Postgres only.)
describeEachDatabase(
  'readAll with a late commit',
  (db) => {
    it('does not return a later event before an earlier, still-open one commits', async () => {
      const store = await db.open();
      await appendToStream(store, 'warm-up', [{ type: 'Counted', data: { n: 0 } }]);
      const start = (await readAll(store)).nextPosition;

      const slow = store.dataSource.createQueryRunner();
      await slow.startTransaction();
      try {
        const early = await appendToStream(store, `slow-${randomUUID()}`, [{ type: 'Counted', data: { n: 1 } }], { runner: slow });
        const late = await appendToStream(store, `fast-${randomUUID()}`, [{ type: 'Counted', data: { n: 2 } }]);
        expect(late.lastGlobalPosition).toBeGreaterThan(early.lastGlobalPosition);

        // The fast one is committed, but the reader must not see it yet: it would then skip the slow one.
        const whileOpen = await readAll(store, { after: start });
        expect(whileOpen.events).toEqual([]);
        expect(whileOpen.nextPosition).toBe(start);

        await slow.commitTransaction();
        const afterCommit = await readAll(store, { after: start });
        expect(afterCommit.events.map((e) => e.globalPosition)).toEqual([early.lastGlobalPosition, late.lastGlobalPosition]);
      } finally {
        if (slow.isTransactionActive) await slow.rollbackTransaction();
        await slow.release();
      }
    });
  },
  { only: ['postgres'] },
);
