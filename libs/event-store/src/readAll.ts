/**
 * Reads every stream's events in global-position order, a page at a time (keyset on position). Stops below the
 * oldest transaction still running (see README.md), so a page never returns an event while one with a smaller
 * position can still commit: a reader that resumes after the last position it saw skips nothing.
 */
import { EVENT_COLUMNS, type EventRow, type EventStore, toRecordedEvent } from './eventStore';
import type { GlobalPosition, RecordedEvent } from './types';

export interface ReadAllOptions {
  /** Exclusive: read events after this position. Default 0 (from the start). */
  after?: GlobalPosition;
  /** Inclusive upper bound, for "state as of position P". */
  upTo?: GlobalPosition;
  /** Default 1000. */
  limit?: number;
  /** Only these event types (positions still advance only over returned events). */
  types?: readonly string[];
  /** Only this stream's events (positions still advance only over returned events). */
  streamId?: string;
}

export interface ReadAllResult<T = unknown> {
  events: RecordedEvent<T>[];
  /** Pass as `after` for the next page: the last returned position, or `after` when nothing was returned. */
  nextPosition: GlobalPosition;
  /** Fewer than `limit` events came back: the reader has caught up (for now). */
  isEnd: boolean;
}

export async function readAll<T = unknown>(store: EventStore, options: ReadAllOptions = {}): Promise<ReadAllResult<T>> {
  const after = options.after ?? 0;
  const limit = options.limit ?? 1000;
  if (!Number.isSafeInteger(after) || after < 0) throw new Error(`invalid position ${after}`);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`invalid limit ${limit}`);
  const params: unknown[] = [after, limit];
  let filters = '';
  if (options.upTo !== undefined) {
    params.push(options.upTo);
    filters += ` AND e.global_position <= $${params.length}`;
  }
  if (options.types !== undefined) {
    params.push(options.types);
    filters += ` AND e.event_type = ANY($${params.length}::text[])`;
  }
  if (options.streamId !== undefined) {
    params.push(options.streamId);
    filters += ` AND e.stream_id = $${params.length}`;
  }
  const rows: EventRow[] = await store.dataSource.query(
    `SELECT ${EVENT_COLUMNS} FROM ${store.table('events')} e
      WHERE e.global_position > $1
        AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())${filters}
      ORDER BY e.global_position
      LIMIT $2`,
    params,
  );
  const events = rows.map((row) => toRecordedEvent<T>(store, row));
  return { events, nextPosition: events.length > 0 ? events[events.length - 1].globalPosition : after, isEnd: events.length < limit };
}

/**
 * The newest position committed and visible now (0 when the log is empty): what a reader must reach to have seen
 * every write acknowledged so far. Unlike readHeadPosition it does not stop below transactions still open, so a
 * reader may have to wait for those to end before it can reach it.
 */
export async function readNewestPosition(store: EventStore): Promise<GlobalPosition> {
  const rows: { head: string | null }[] = await store.dataSource.query(`SELECT global_position AS head FROM ${store.table('events')} ORDER BY global_position DESC LIMIT 1`);
  return rows.length === 0 || rows[0].head === null ? 0 : Number(rows[0].head);
}

/** The newest position a reader may safely have reached now (0 when the log is empty). */
export async function readHeadPosition(store: EventStore): Promise<GlobalPosition> {
  const rows: { head: string | null }[] = await store.dataSource.query(
    `SELECT global_position AS head FROM ${store.table('events')}
      WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY global_position DESC LIMIT 1`,
  );
  return rows.length === 0 || rows[0].head === null ? 0 : Number(rows[0].head);
}
