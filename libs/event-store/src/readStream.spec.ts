import { randomUUID } from 'crypto';
import { appendToStream } from './appendToStream';
import type { OpenedEventStore } from './eventStore';
import { readStream } from './readStream';
import { describeEachDatabase } from './testing/describeEachDatabase';

describeEachDatabase('readStream', (db) => {
  let store: OpenedEventStore;
  const stream = `device-${randomUUID()}`;
  const n = (events: { data: unknown }[]) => events.map((e) => (e.data as { n: number }).n);

  beforeAll(async () => {
    store = await db.open();
    await appendToStream(store, stream, Array.from({ length: 10 }, (_, i) => ({ type: 'Counted', data: { n: i + 1 } })));
    await appendToStream(store, `other-${randomUUID()}`, [{ type: 'Counted', data: { n: 0 } }]);
  });

  it('reads forward from the start, in version order', async () => {
    const result = await readStream(store, stream);
    expect(result.streamExists).toBe(true);
    expect(result.currentVersion).toBe(10);
    expect(n(result.events)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(result.events.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('reads forward from a version with a max count', async () => {
    expect(n((await readStream(store, stream, { fromVersion: 4, maxCount: 3 })).events)).toEqual([4, 5, 6]);
  });

  it('reads backward from the end or from a version', async () => {
    expect(n((await readStream(store, stream, { direction: 'backward', maxCount: 3 })).events)).toEqual([10, 9, 8]);
    expect(n((await readStream(store, stream, { direction: 'backward', fromVersion: 2 })).events)).toEqual([2, 1]);
  });

  it('reports the current version even when the page is empty', async () => {
    expect(await readStream(store, stream, { fromVersion: 11 })).toEqual({ events: [], currentVersion: 10, streamExists: true });
  });

  it('tells a missing stream apart', async () => {
    expect(await readStream(store, `missing-${randomUUID()}`)).toEqual({ events: [], currentVersion: 0, streamExists: false });
  });
});
