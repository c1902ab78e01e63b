/** Reads one stream forward or backward from a version, with its current version, in one round trip. */
import { EVENT_COLUMNS, type EventRow, type EventStore, toRecordedEvent } from './eventStore';
import { toSafeNumber } from './sql';
import type { RecordedEvent } from './types';

export interface ReadStreamOptions {
  direction?: 'forward' | 'backward';
  /** Inclusive. Forward default 1 (the start); backward default the stream's last version. */
  fromVersion?: number;
  /** Default 1000. */
  maxCount?: number;
}

export interface ReadStreamResult<T = unknown> {
  events: RecordedEvent<T>[];
  /** 0 when the stream does not exist. */
  currentVersion: number;
  streamExists: boolean;
}

export async function readStream<T = unknown>(store: EventStore, streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult<T>> {
  const backward = options.direction === 'backward';
  const maxCount = options.maxCount ?? 1000;
  if (!Number.isInteger(maxCount) || maxCount < 1) throw new Error(`invalid maxCount ${maxCount}`);
  const from = options.fromVersion ?? (backward ? Number.MAX_SAFE_INTEGER : 1);
  // The stream row anchors the result: no row → no stream; the lateral join brings the page of events.
  const rows: (EventRow & { current_version: string })[] = await store.dataSource.query(
    `SELECT s.version AS current_version, ${EVENT_COLUMNS}
       FROM ${store.table('streams')} s
       LEFT JOIN LATERAL (
         SELECT * FROM ${store.table('events')} ev
          WHERE ev.stream_id = s.stream_id AND ev.stream_version ${backward ? '<=' : '>='} $2
          ORDER BY ev.stream_version ${backward ? 'DESC' : 'ASC'}
          LIMIT $3
       ) e ON true
      WHERE s.stream_id = $1`,
    [streamId, from, maxCount],
  );
  if (rows.length === 0) return { events: [], currentVersion: 0, streamExists: false };
  const currentVersion = toSafeNumber(rows[0].current_version, 'stream version');
  const events = rows.filter((r) => r.global_position !== null).map((r) => toRecordedEvent<T>(store, r));
  return { events, currentVersion, streamExists: true };
}
