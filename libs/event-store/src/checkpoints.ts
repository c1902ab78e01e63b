/** Where each named subscription got to. Store it in the handler's own transaction for exactly-once effects. */
import type { QueryRunner } from 'typeorm';
import type { EventStore } from './eventStore';
import { toSafeNumber } from './sql';
import type { GlobalPosition } from './types';

/** 0 when the subscription has never stored a checkpoint. */
export async function readCheckpoint(store: EventStore, subscriptionName: string, runner?: QueryRunner): Promise<GlobalPosition> {
  const rows: { position: string }[] = await (runner ?? store.dataSource).query(
    `SELECT position FROM ${store.table('subscription_checkpoints')} WHERE subscription_name = $1`,
    [subscriptionName],
  );
  return rows.length === 0 ? 0 : toSafeNumber(rows[0].position, 'checkpoint');
}

export async function storeCheckpoint(store: EventStore, subscriptionName: string, position: GlobalPosition, runner?: QueryRunner): Promise<void> {
  if (!Number.isSafeInteger(position) || position < 0) throw new Error(`invalid checkpoint ${position}`);
  await (runner ?? store.dataSource).query(
    `INSERT INTO ${store.table('subscription_checkpoints')} (subscription_name, position) VALUES ($1, $2)
     ON CONFLICT (subscription_name) DO UPDATE SET position = EXCLUDED.position, updated_at = clock_timestamp()`,
    [subscriptionName, position],
  );
}

/** Makes the subscription start over (e.g. to rebuild a read model). */
export async function resetCheckpoint(store: EventStore, subscriptionName: string): Promise<void> {
  await store.dataSource.query(`DELETE FROM ${store.table('subscription_checkpoints')} WHERE subscription_name = $1`, [subscriptionName]);
}
