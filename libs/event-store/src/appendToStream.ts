/**
 * Appends events to one stream in one round trip (the `append_event` SQL function for one event, `append_to_stream`
 * for several): position reservation, expected-version check, idempotency by event id and the insert, all in the
 * caller's transaction or its own.
 */
import { randomUUID } from 'crypto';
import type { Pool } from 'pg';
import { QueryFailedError, type QueryRunner } from 'typeorm';
import { DuplicateEventId, WrongExpectedVersion } from './errors';
import type { EventStore } from './eventStore';
import { toSafeNumber } from './sql';
import type { ExpectedVersion, GlobalPosition, NewEvent } from './types';

export interface AppendOptions {
  /** Default `any`. */
  expectedVersion?: ExpectedVersion;
  /**
   * Run inside this query runner's open transaction (e.g. with read-model writes). The append must be the
   * transaction's first write; later writes are fine.
   */
  runner?: QueryRunner;
}

export interface AppendResult {
  /** The stream's version after the append: pass it as `expectedVersion` next time. */
  nextExpectedVersion: number;
  /** One per appended event, in order. */
  globalPositions: GlobalPosition[];
  lastGlobalPosition: GlobalPosition;
  /** True when every event id was already stored with the same content: nothing was written. */
  alreadyAppended: boolean;
}

const STREAM_ID = /^[^\s]{1,200}$/;

interface PreparedEvent {
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: Record<string, unknown>;
}

export async function appendToStream(store: EventStore, streamId: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
  if (!STREAM_ID.test(streamId)) throw new Error(`invalid stream id ${JSON.stringify(streamId)}: 1–200 characters, no blanks`);
  if (events.length === 0) throw new Error(`appendToStream(${streamId}): no events to append`);
  const expected = options.expectedVersion ?? 'any';
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) throw new Error(`invalid expected version ${expected}`);

  const prepared = events.map((event) => prepare(store, event));
  const ids = new Set(prepared.map((e) => e.id));
  if (ids.size !== prepared.length) throw new Error(`appendToStream(${streamId}): the same event id appears twice in one append`);

  const [kind, version] = typeof expected === 'number' ? ['exact', expected] : [expected, 0];
  const query = queryFor(store, options.runner);
  try {
    const rows: { global_position: string; stream_version: string }[] =
      prepared.length === 1
        ? await query(`SELECT stream_version, global_position FROM ${store.appendEventFunction}($1, $2, $3::bigint, $4::uuid, $5, $6::integer, $7::jsonb, $8::jsonb)`, [
            streamId,
            kind,
            version,
            prepared[0].id,
            prepared[0].type,
            prepared[0].schemaVersion,
            JSON.stringify(prepared[0].data),
            JSON.stringify(prepared[0].metadata),
          ])
        : await query(`SELECT * FROM ${store.appendFunction}($1, $2, $3, $4::jsonb)`, [streamId, kind, version, JSON.stringify(prepared)]);
    const globalPositions = rows.map((r) => toSafeNumber(r.global_position, 'global position'));
    return {
      nextExpectedVersion: toSafeNumber(rows[rows.length - 1].stream_version, 'stream version'),
      globalPositions,
      lastGlobalPosition: globalPositions[globalPositions.length - 1],
      alreadyAppended: false,
    };
  } catch (error) {
    const code = driverErrorCode(error);
    if (code === 'TS001') throw new WrongExpectedVersion(streamId, expected, Number(driverErrorDetail(error)));
    // TS003: the probe found stored ids; 23505 on event_id: the ids were stored before (append_event relies on the
    // unique index rather than a probe) or a concurrent append of the same ids won the race.
    if (code === 'TS003' || (code === '23505' && driverErrorConstraint(error) === 'events_event_id_key')) {
      if (options.runner) throw error; // the caller's transaction is aborted; let it retry as a whole
      return alreadyAppended(store, streamId, prepared);
    }
    throw error;
  }
}

type Query = (sql: string, params: unknown[]) => Promise<{ global_position: string; stream_version: string }[]>;

/**
 * The caller's transaction, else one statement on the pool. An append on its own goes straight to the driver's pg
 * pool: TypeORM's per-query wrapping (a query runner, logging and broadcaster hooks) cost ~50 µs of client CPU per
 * append, a tenth of a one-event append here. Errors are the driver's own, which the caller maps the same way.
 */
function queryFor(store: EventStore, runner: QueryRunner | undefined): Query {
  if (runner) return (sql, params) => runner.query(sql, params);
  const pool = (store.dataSource.driver as { master?: Pool }).master;
  if (pool && typeof pool.query === 'function') return async (sql, params) => (await pool.query(sql, params)).rows;
  return (sql, params) => store.dataSource.query(sql, params);
}

function prepare(store: EventStore, event: NewEvent): PreparedEvent {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/.test(event.type)) throw new Error(`invalid event type ${JSON.stringify(event.type)}`);
  const schemaVersion = event.schemaVersion ?? 1;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) throw new Error(`${event.type}: invalid schema version ${schemaVersion}`);
  const data = store.validate ? store.validate(event.type, schemaVersion, event.data) : event.data;
  if (data === undefined) throw new Error(`${event.type}: data is required`);
  return { id: event.id ?? randomUUID(), type: event.type, schemaVersion, data, metadata: { ...(event.metadata ?? {}) } };
}

/**
 * A retry of an append that already happened returns the original positions; anything else that reuses an id
 * is refused. Metadata is not compared: a retry may carry a new causation or trace id.
 */
async function alreadyAppended(store: EventStore, streamId: string, events: PreparedEvent[]): Promise<AppendResult> {
  const rows: { event_id: string; stream_id: string; stream_version: string; global_position: string; event_type: string; schema_version: number; data: unknown }[] =
    await store.dataSource.query(
      `SELECT event_id, stream_id, stream_version, global_position, event_type, schema_version, data FROM ${store.table('events')} WHERE event_id = ANY($1::uuid[])`,
      [events.map((e) => e.id)],
    );
  const stored = new Map(rows.map((r) => [r.event_id, r]));
  const missing = events.filter((e) => !stored.has(e.id)).map((e) => e.id);
  const present = events.filter((e) => stored.has(e.id)).map((e) => e.id);
  if (missing.length > 0) throw new DuplicateEventId(present, `the append mixes ${present.length} stored and ${missing.length} new events`);
  let previousVersion: number | undefined;
  for (const event of events) {
    const row = stored.get(event.id)!;
    const version = toSafeNumber(row.stream_version, 'stream version');
    const sameContent = row.stream_id === streamId && row.event_type === event.type && row.schema_version === event.schemaVersion && jsonEqual(row.data, event.data);
    if (!sameContent) throw new DuplicateEventId([event.id], `stored with different content (stream ${row.stream_id}, type ${row.event_type} v${row.schema_version})`);
    if (previousVersion !== undefined && version !== previousVersion + 1) throw new DuplicateEventId([event.id], 'stored in a different order');
    previousVersion = version;
  }
  const globalPositions = events.map((e) => toSafeNumber(stored.get(e.id)!.global_position, 'global position'));
  return { nextExpectedVersion: previousVersion!, globalPositions, lastGlobalPosition: globalPositions[globalPositions.length - 1], alreadyAppended: true };
}

/** Equality as jsonb sees it: key order does not matter, `undefined` members are absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(JSON.parse(JSON.stringify(b)));
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const driverError = (error: unknown): { code?: string; detail?: string; constraint?: string } | undefined =>
  error instanceof QueryFailedError ? (error.driverError as { code?: string; detail?: string; constraint?: string }) : (error as { code?: string } | undefined);
const driverErrorCode = (error: unknown): string | undefined => driverError(error)?.code;
const driverErrorDetail = (error: unknown): string | undefined => driverError(error)?.detail;
const driverErrorConstraint = (error: unknown): string | undefined => driverError(error)?.constraint;
