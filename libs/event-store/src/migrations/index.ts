import type { MigrationInterface } from 'typeorm';
import { createEventStoreMigration } from './1761000000000-CreateEventStore';
import { createAppendEventMigration } from './1764000000000-AppendEvent';

/** Every event-store migration, in order, for a DataSource whose event store lives in `schema`. */
export function eventStoreMigrations(schema: string): (new () => MigrationInterface)[] {
  return [createEventStoreMigration(schema), createAppendEventMigration(schema)];
}
