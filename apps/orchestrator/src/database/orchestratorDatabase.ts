/**
 * One DataSource for the orchestrator: the event store's migrations and the orchestrator's own (read models and
 * command guards), all in one Postgres schema, run on open (never `synchronize`).
 */
import 'reflect-metadata';
import { tandemContracts } from '@tandem/contracts';
import { createEventStore, eventStoreMigrations, type EventStore } from '@tandem/event-store';
import { DataSource } from 'typeorm';
import { readModelEntities } from './entities/readModel.entities';
import { createReadModelsMigration } from './migrations/1762000000000-CreateReadModels';
import { createAgentFactsMigration } from './migrations/1763000000000-AgentFacts';
import { createHaDevicesMigration } from './migrations/1765000000000-HaDevices';
import { createLivenessAndAlertsMigration } from './migrations/1766000000000-LivenessAndAlerts';
import { assertIdentifier, quoteIdent } from './sql';

export interface OrchestratorDatabase {
  readonly dataSource: DataSource;
  readonly store: EventStore;
  readonly schema: string;
  /** `"schema".table` */
  table(name: string): string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  url: string;
  schema: string;
  poolSize?: number;
  /** Bounded, so an unreachable database fails fast. Default 3000 ms. */
  connectTimeoutMs?: number;
}

export async function openOrchestratorDatabase(options: OpenDatabaseOptions): Promise<OrchestratorDatabase> {
  const schema = assertIdentifier(options.schema);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema,
    poolSize: options.poolSize ?? 10,
    connectTimeoutMS: options.connectTimeoutMs ?? 3000,
    applicationName: 'tandem-orchestrator',
    installExtensions: false,
    synchronize: false,
    migrationsRun: false,
    // The event store's own name for it, so `openEventStore` on this schema sees the same history.
    migrationsTableName: 'event_store_migrations',
    migrations: [...eventStoreMigrations(schema), createReadModelsMigration(schema), createAgentFactsMigration(schema), createHaDevicesMigration(schema), createLivenessAndAlertsMigration(schema)],
    entities: readModelEntities,
  });
  await dataSource.initialize();
  try {
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await dataSource.runMigrations({ transaction: 'all' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  const store = createEventStore(dataSource, {
    schema,
    upcasters: tandemContracts.upcasters(),
    // Every event is checked against its contract before it is written.
    validate: (type, schemaVersion, data) => tandemContracts.parseAnyEvent(type, schemaVersion, data).data,
  });
  return {
    dataSource,
    store,
    schema,
    table: (name) => `${quoteIdent(schema)}.${quoteIdent(name)}`,
    close: () => dataSource.destroy(),
  };
}
