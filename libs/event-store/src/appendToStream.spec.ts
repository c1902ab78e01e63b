import { randomUUID } from 'crypto';
import { parseEvent, type TandemEventType } from '@tandem/contracts';
import { appendToStream } from './appendToStream';
import { DuplicateEventId, WrongExpectedVersion } from './errors';
import type { OpenedEventStore } from './eventStore';
import { readAll } from './readAll';
import { readStream } from './readStream';
import { describeEachDatabase } from './testing/describeEachDatabase';

const event = (n: number, id = randomUUID()) => ({ id, type: 'Counted', data: { n }, metadata: { correlationId: randomUUID(), actor: 'system:test' } });

describeEachDatabase('appendToStream', (db) => {
  let store: OpenedEventStore;
  beforeAll(async () => {
    store = await db.open();
  });

  it('creates a stream with no-stream and records every field', async () => {
    const stream = `counter-${randomUUID()}`;
    const first = event(1);
    const result = await appendToStream(store, stream, [first, event(2)], { expectedVersion: 'no-stream' });
    expect(result.nextExpectedVersion).toBe(2);
    expect(result.globalPositions).toHaveLength(2);
    expect(result.globalPositions[1]).toBeGreaterThan(result.globalPositions[0]);
    expect(result.alreadyAppended).toBe(false);

    const { events, currentVersion } = await readStream(store, stream);
    expect(currentVersion).toBe(2);
    expect(events[0]).toEqual({
      id: first.id,
      streamId: stream,
      streamVersion: 1,
      globalPosition: result.globalPositions[0],
      type: 'Counted',
      schemaVersion: 1,
      data: { n: 1 },
      metadata: first.metadata,
      recordedAt: expect.any(Date),
    });
  });

  it('checks the expected version: exact, no-stream, stream-exists, any', async () => {
    const stream = `counter-${randomUUID()}`;
    await expect(appendToStream(store, stream, [event(1)], { expectedVersion: 'stream-exists' })).rejects.toEqual(new WrongExpectedVersion(stream, 'stream-exists', 0));
    await expect(appendToStream(store, stream, [event(1)], { expectedVersion: 3 })).rejects.toBeInstanceOf(WrongExpectedVersion);
    await appendToStream(store, stream, [event(1)], { expectedVersion: 0 });
    await expect(appendToStream(store, stream, [event(2)], { expectedVersion: 'no-stream' })).rejects.toMatchObject({ actual: 1 });
    await expect(appendToStream(store, stream, [event(2)], { expectedVersion: 0 })).rejects.toMatchObject({ name: 'WrongExpectedVersion', expected: 0, actual: 1 });
    expect((await appendToStream(store, stream, [event(2)], { expectedVersion: 1 })).nextExpectedVersion).toBe(2);
    expect((await appendToStream(store, stream, [event(3)], { expectedVersion: 'stream-exists' })).nextExpectedVersion).toBe(3);
    expect((await appendToStream(store, stream, [event(4)])).nextExpectedVersion).toBe(4);
    const { events } = await readStream<{ n: number }>(store, stream);
    expect(events.map((e) => e.data.n)).toEqual([1, 2, 3, 4]);
  });

  it('lets exactly one of several concurrent writers with the same expected version win', async () => {
    const stream = `counter-${randomUUID()}`;
    await appendToStream(store, stream, [event(0)]);
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((n) => appendToStream(store, stream, [event(n)], { expectedVersion: 1 })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedVersion);
    expect((await readStream(store, stream)).currentVersion).toBe(2);
  });

  it('is idempotent by event id: a retry returns the original positions and writes nothing', async () => {
    const stream = `counter-${randomUUID()}`;
    const batch = [event(1), event(2)];
    const original = await appendToStream(store, stream, batch, { expectedVersion: 'no-stream' });
    // A retry with a stale expected version and fresh metadata is still the same append.
    const retry = await appendToStream(store, stream, batch.map((e) => ({ ...e, metadata: { ...e.metadata, causationId: randomUUID() } })), { expectedVersion: 'no-stream' });
    expect(retry).toEqual({ ...original, alreadyAppended: true });
    expect((await readStream(store, stream)).currentVersion).toBe(2);
  });

  it('handles a concurrent retry race on the same ids', async () => {
    const stream = `counter-${randomUUID()}`;
    const batch = [event(1), event(2), event(3)];
    const results = await Promise.all([1, 2, 3].map(() => appendToStream(store, stream, batch)));
    expect(new Set(results.map((r) => r.globalPositions.join(','))).size).toBe(1);
    expect(results.filter((r) => !r.alreadyAppended)).toHaveLength(1);
    expect((await readStream(store, stream)).currentVersion).toBe(3);
  });

  it('refuses a known id with different content, in another stream, or mixed with new ids', async () => {
    const stream = `counter-${randomUUID()}`;
    const stored = event(1);
    await appendToStream(store, stream, [stored]);
    await expect(appendToStream(store, stream, [{ ...stored, data: { n: 99 } }])).rejects.toBeInstanceOf(DuplicateEventId);
    await expect(appendToStream(store, `other-${randomUUID()}`, [stored])).rejects.toThrow(/different content/);
    await expect(appendToStream(store, stream, [stored, event(2)])).rejects.toThrow(/mixes 1 stored and 1 new/);
    expect((await readStream(store, stream)).currentVersion).toBe(1);
  });

  it('compares data as jsonb does (key order does not matter)', async () => {
    const stream = `counter-${randomUUID()}`;
    const id = randomUUID();
    await appendToStream(store, stream, [{ id, type: 'Pair', data: { a: 1, b: { c: [1, 2], d: null } } }]);
    const retry = await appendToStream(store, stream, [{ id, type: 'Pair', data: { b: { d: null, c: [1, 2] }, a: 1 } }]);
    expect(retry.alreadyAppended).toBe(true);
  });

  it('validates at the boundary: a bad payload is refused and nothing is written', async () => {
    const validated = await db.open({ validate: (type, version, data) => parseEvent(type as TandemEventType, version, data) });
    const siteId = randomUUID();
    await expect(appendToStream(validated, `site-${siteId}`, [{ type: 'SiteCreated', data: { siteId, name: '' } }])).rejects.toThrow(/event SiteCreated v1: .*name: must not be empty/);
    expect((await readAll(validated)).events).toHaveLength(0);
    await appendToStream(validated, `site-${siteId}`, [{ type: 'SiteCreated', data: { siteId, name: 'lab' } }]);
    expect((await readAll(validated)).events).toHaveLength(1);
  });

  it('joins the caller transaction: rolled back with it, and must be its first write', async () => {
    const stream = `counter-${randomUUID()}`;
    const runner = store.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      await appendToStream(store, stream, [event(1)], { runner });
      await runner.rollbackTransaction();
      expect((await readStream(store, stream)).streamExists).toBe(false);

      await runner.startTransaction();
      await runner.query(`INSERT INTO ${store.table('subscription_checkpoints')} (subscription_name, position) VALUES ('x', 0)`);
      await expect(appendToStream(store, stream, [event(1)], { runner })).rejects.toThrow(/first write of its transaction/);
      await runner.rollbackTransaction();
    } finally {
      await runner.release();
    }
  });

  // One event goes through append_event, which has no idempotency probe up front: the same outcomes, reached by
  // the unique index on event_id, or by the probe after a failed version check.
  describe('one event per append (append_event)', () => {
    it('is idempotent by event id whatever the expected version of the retry', async () => {
      const stream = `counter-${randomUUID()}`;
      const first = event(1);
      const original = await appendToStream(store, stream, [first], { expectedVersion: 'no-stream' });
      await appendToStream(store, stream, [event(2)], { expectedVersion: 1 });
      for (const expectedVersion of ['no-stream', 'any', 'stream-exists', 0, 1, 2, 7] as const) {
        const retry = await appendToStream(store, stream, [{ ...first, metadata: { actor: 'system:retry' } }], { expectedVersion });
        expect(retry).toEqual({ ...original, alreadyAppended: true });
      }
      expect((await readStream(store, stream)).currentVersion).toBe(2);
    });

    it('handles a concurrent retry race on the same id', async () => {
      const stream = `counter-${randomUUID()}`;
      const only = event(1);
      const results = await Promise.all([1, 2, 3, 4].map(() => appendToStream(store, stream, [only])));
      expect(new Set(results.map((r) => r.lastGlobalPosition)).size).toBe(1);
      expect(results.filter((r) => !r.alreadyAppended)).toHaveLength(1);
      expect((await readStream(store, stream)).currentVersion).toBe(1);
    });

    it('refuses a known id with different content or in another stream, and writes nothing', async () => {
      const stream = `counter-${randomUUID()}`;
      const stored = event(1);
      const { lastGlobalPosition } = await appendToStream(store, stream, [stored]);
      await expect(appendToStream(store, stream, [{ ...stored, data: { n: 99 } }])).rejects.toBeInstanceOf(DuplicateEventId);
      const other = `other-${randomUUID()}`;
      await expect(appendToStream(store, other, [stored])).rejects.toThrow(/different content/);
      expect((await readStream(store, stream)).currentVersion).toBe(1);
      expect((await readStream(store, other)).streamExists).toBe(false);
      expect((await readAll(store, { after: lastGlobalPosition })).events.filter((e) => e.id === stored.id)).toHaveLength(0);
    });

    it('stores every field like a batch append does', async () => {
      const stream = `counter-${randomUUID()}`;
      const one = { ...event(5), schemaVersion: 2, data: { n: 5, nested: { list: [1, 'two', null], skipped: undefined } } };
      const result = await appendToStream(store, stream, [one], { expectedVersion: 0 });
      expect(result).toEqual({ nextExpectedVersion: 1, globalPositions: [result.lastGlobalPosition], lastGlobalPosition: expect.any(Number), alreadyAppended: false });
      const { events } = await readStream(store, stream);
      expect(events).toEqual([
        {
          id: one.id,
          streamId: stream,
          streamVersion: 1,
          globalPosition: result.lastGlobalPosition,
          type: 'Counted',
          schemaVersion: 2,
          data: { n: 5, nested: { list: [1, 'two', null] } },
          metadata: one.metadata,
          recordedAt: expect.any(Date),
        },
      ]);
    });
  });

  it('keeps both append functions on index plans (a plan cached while the log was tiny must not scan it later)', async () => {
    const rows: { proname: string; proconfig: string[] | null }[] = await store.dataSource.query(
      `SELECT proname, proconfig FROM pg_proc WHERE pronamespace = $1::regnamespace AND proname IN ('append_event', 'append_to_stream') ORDER BY proname`,
      [store.schema],
    );
    expect(rows).toEqual([
      { proname: 'append_event', proconfig: ['enable_seqscan=off'] },
      { proname: 'append_to_stream', proconfig: ['enable_seqscan=off'] },
    ]);
  });

  it('refuses malformed input before touching the database', async () => {
    await expect(appendToStream(store, 'has space', [event(1)])).rejects.toThrow(/invalid stream id/);
    await expect(appendToStream(store, 's', [])).rejects.toThrow(/no events/);
    const dup = event(1);
    await expect(appendToStream(store, 's', [dup, dup])).rejects.toThrow(/appears twice/);
    await expect(appendToStream(store, 's', [{ type: 'bad type', data: {} }])).rejects.toThrow(/invalid event type/);
    await expect(appendToStream(store, 's', [event(1)], { expectedVersion: -2 })).rejects.toThrow(/invalid expected version/);
  });
});
