/**
 * Opening an event store: a TypeORM DataSource on Postgres (or PGlite over the wire protocol), the store's
 * schema, and its migrations run (never `synchronize`). Every operation (`appendToStream`, `readAll`, …) takes
 * the returned `EventStore`.
 */
import 'reflect-metadata';
import { DataSource, type QueryRunner } from 'typeorm';
import { eventStoreMigrations } from './migrations';
import { assertIdentifier, quoteIdent, toSafeNumber } from './sql';
import type { EventMetadata, RecordedEvent } from './types';
import { type EventUpcaster, Upcasters } from './upcasters';

/** Checks (and may normalise) event data before it is written, e.g. the contracts' `parseEvent`. */
export type EventValidator = (type: string, schemaVersion: number, data: unknown) => unknown;

export interface EventStore {
  readonly dataSource: DataSource;
  readonly schema: string;
  readonly upcasters: Upcasters;
  readonly validate?: EventValidator;
  /** `"schema".name`, for SQL. */
  table(name: 'events' | 'streams' | 'subscription_checkpoints'): string;
  /** `"schema".append_to_stream` (any number of events). */
  readonly appendFunction: string;
  /** `"schema".append_event` (exactly one event: the common case, a command's worth). */
  readonly appendEventFunction: string;
}

export interface OpenEventStoreOptions {
  /** `postgres://user@host:port/db`; default from DATABASE_URL, else 127.0.0.1:5432 database `postgres`. */
  url?: string;
  /** Postgres schema holding the store; created if missing. Default `event_store`. */
  schema?: string;
  poolSize?: number;
  /** Bounded, so an unreachable database fails fast instead of hanging. Default 3000 ms. */
  connectTimeoutMs?: number;
  upcasters?: readonly EventUpcaster[];
  validate?: EventValidator;
  /** Run pending migrations on open (default true). */
  migrate?: boolean;
  applicationName?: string;
}

export interface OpenedEventStore extends EventStore {
  close(): Promise<void>;
}

export const DEFAULT_SCHEMA = 'event_store';

/** Wraps an existing, initialised DataSource whose migrations include `eventStoreMigrations(schema)`. */
export function createEventStore(dataSource: DataSource, options: { schema?: string; upcasters?: readonly EventUpcaster[]; validate?: EventValidator } = {}): EventStore {
  const schema = assertIdentifier(options.schema ?? DEFAULT_SCHEMA);
  const s = quoteIdent(schema);
  return {
    dataSource,
    schema,
    upcasters: new Upcasters(options.upcasters),
    validate: options.validate,
    table: (name) => `${s}.${name}`,
    appendFunction: `${s}.append_to_stream`,
    appendEventFunction: `${s}.append_event`,
  };
}

export async function openEventStore(options: OpenEventStoreOptions = {}): Promise<OpenedEventStore> {
  const schema = assertIdentifier(options.schema ?? DEFAULT_SCHEMA);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    schema,
    poolSize: options.poolSize ?? 10,
    connectTimeoutMS: options.connectTimeoutMs ?? 3000,
    applicationName: options.applicationName ?? 'tandem-event-store',
    installExtensions: false,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'event_store_migrations',
    migrations: eventStoreMigrations(schema),
  });
  await dataSource.initialize();
  try {
    if (options.migrate ?? true) await migrateEventStore(dataSource, schema);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  const store = createEventStore(dataSource, { schema, upcasters: options.upcasters, validate: options.validate });
  return { ...store, close: () => dataSource.destroy() };
}

/** Creates the schema and runs pending migrations, one transaction for all of them. */
export async function migrateEventStore(dataSource: DataSource, schema: string): Promise<void> {
  await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  await dataSource.runMigrations({ transaction: 'all' });
}

/** Runs `fn` on one connection, releasing it whatever happens. */
export async function withQueryRunner<T>(store: EventStore, fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
  const runner = store.dataSource.createQueryRunner();
  try {
    return await fn(runner);
  } finally {
    await runner.release();
  }
}

/** Columns every read selects, in the order `toRecordedEvent` expects. */
export const EVENT_COLUMNS = 'e.global_position, e.event_id, e.stream_id, e.stream_version, e.event_type, e.schema_version, e.data, e.metadata, e.recorded_at';

export interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_version: string;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

export function toRecordedEvent<T>(store: EventStore, row: EventRow): RecordedEvent<T> {
  const { schemaVersion, data } = store.upcasters.upcast(row.event_type, row.schema_version, row.data);
  return {
    id: row.event_id,
    streamId: row.stream_id,
    streamVersion: toSafeNumber(row.stream_version, 'stream version'),
    globalPosition: toSafeNumber(row.global_position, 'global position'),
    type: row.event_type,
    schemaVersion,
    data: data as T,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}
