import { appendToStream } from './appendToStream';
import { readCheckpoint, resetCheckpoint } from './checkpoints';
import type { OpenedEventStore } from './eventStore';
import { subscribe } from './subscribe';
import type { RecordedEvent } from './types';
import { describeEachDatabase } from './testing/describeEachDatabase';

const until = async (condition: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const appendN = (store: OpenedEventStore, from: number, count: number) =>
  appendToStream(store, 'numbers', Array.from({ length: count }, (_, i) => ({ type: 'Counted', data: { n: from + i } })));

describeEachDatabase('subscribe', (db) => {
  it('catches up, follows live appends, and resumes after its checkpoint', async () => {
    const store = await db.open();
    await appendN(store, 1, 25);
    const seen: number[] = [];
    const handler = (event: RecordedEvent) => void seen.push((event.data as { n: number }).n);

    const first = subscribe(store, { name: 'projector', handler, batchSize: 10, pollIntervalMs: 10 });
    await first.caughtUp;
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    await appendN(store, 26, 5);
    await until(() => seen.length === 30);
    await first.stop();
    expect(await readCheckpoint(store, 'projector')).toBe(first.position);

    await appendN(store, 31, 5); // while stopped
    const second = subscribe(store, { name: 'projector', handler, batchSize: 10, pollIntervalMs: 10 });
    await second.caughtUp;
    await second.stop();
    expect(seen).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
  });

  it('keeps separate checkpoints per name and can start over', async () => {
    const store = await db.open();
    await appendN(store, 1, 3);
    const a: number[] = [];
    const sub = subscribe(store, { name: 'a', handler: (e) => void a.push(e.globalPosition), pollIntervalMs: 10 });
    await sub.caughtUp;
    await sub.stop();
    expect(await readCheckpoint(store, 'b')).toBe(0);
    await resetCheckpoint(store, 'a');
    const again = subscribe(store, { name: 'a', handler: (e) => void a.push(e.globalPosition), pollIntervalMs: 10 });
    await again.caughtUp;
    await again.stop();
    expect(a).toHaveLength(6);
  });

  it('stops on a handler failure, keeping the last handled position: the failed event comes again (at least once)', async () => {
    const store = await db.open();
    await appendN(store, 1, 10);
    const seen: number[] = [];
    const errors: unknown[] = [];
    const failing = subscribe(store, {
      name: 'fragile',
      batchSize: 100,
      handler: (event) => {
        const n = (event.data as { n: number }).n;
        if (n === 7) throw new Error('projection down');
        seen.push(n);
      },
      onError: (error) => errors.push(error),
    });
    await expect(failing.done).rejects.toThrow('projection down');
    expect(errors).toHaveLength(1);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);

    const retry = subscribe(store, { name: 'fragile', handler: (event) => void seen.push((event.data as { n: number }).n), pollIntervalMs: 10 });
    await retry.caughtUp;
    await retry.stop();
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('can listen to some event types only', async () => {
    const store = await db.open();
    await appendToStream(store, 'mixed', [{ type: 'A', data: {} }, { type: 'B', data: {} }, { type: 'A', data: {} }]);
    const types: string[] = [];
    const sub = subscribe(store, { name: 'only-a', types: ['A'], handler: (e) => void types.push(e.type), pollIntervalMs: 10 });
    await sub.caughtUp;
    await sub.stop();
    expect(types).toEqual(['A', 'A']);
  });
});
