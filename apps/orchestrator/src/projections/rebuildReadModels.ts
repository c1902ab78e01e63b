/**
 * Read models from the log alone: `stateAt` replays into memory up to a position (time travel);
 * `rebuildReadModels` replays everything the same way, then swaps the tables' contents and the projector's
 * checkpoint in one transaction (readers never see a half-built model).
 */
import { readAll, readHeadPosition, readNewestPosition, storeCheckpoint, type GlobalPosition } from '@tandem/event-store';
import { AlertEntity, ClusterEntity, DeviceEntity, NodeEntity, READ_MODEL_TABLES, SiteEntity } from '../database/entities/readModel.entities';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { projectEvent, type FleetSnapshot } from './fleetProjection';
import { InMemoryFleetModel } from './inMemoryFleetModel';
import { READ_MODEL_SUBSCRIPTION } from './readModelProjector';
import { readFleetSnapshot } from './sqlFleetModel';

export interface ReplayResult {
  model: InMemoryFleetModel;
  /** Last position applied (0 for an empty log). */
  position: GlobalPosition;
  events: number;
}

/** Replays the log into memory, up to `upTo` inclusive (default: everything committed). */
export async function replayIntoMemory(db: OrchestratorDatabase, upTo?: GlobalPosition, batchSize = 5000): Promise<ReplayResult> {
  const model = new InMemoryFleetModel();
  let position = 0;
  let events = 0;
  for (;;) {
    const page = await readAll(db.store, { after: position, upTo, limit: batchSize });
    for (const event of page.events) await projectEvent(model, event);
    events += page.events.length;
    position = page.nextPosition;
    if (page.isEnd) return { model, position, events };
  }
}

/**
 * The fleet as it was right after the event at `position` (time travel). Readers stop below the oldest open
 * transaction (of any writer on the database), so first wait, bounded, until everything up to `position` is readable:
 * replaying earlier would silently leave out its last events.
 */
export async function stateAt(db: OrchestratorDatabase, position: GlobalPosition, waitMs = 10_000): Promise<FleetSnapshot> {
  const newest = await readNewestPosition(db.store);
  const target = Math.min(position, newest);
  const deadline = Date.now() + waitMs;
  for (let delay = 5; (await readHeadPosition(db.store)) < target; delay = Math.min(delay * 2, 200)) {
    if (Date.now() > deadline) throw new Error(`the log up to position ${target} is not readable yet: a transaction begun before it is still open; try again`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return (await replayIntoMemory(db, position)).model.snapshot();
}

/** The read-model tables as they are now. */
export function readModelSnapshot(db: OrchestratorDatabase): Promise<FleetSnapshot> {
  return readFleetSnapshot(db.dataSource.manager);
}

export interface RebuildResult {
  position: GlobalPosition;
  events: number;
  counts: Record<(typeof READ_MODEL_TABLES)[number], number>;
  elapsedMs: number;
}

/** Stop the live projector first (and start it again after): both write the same tables. */
export async function rebuildReadModels(db: OrchestratorDatabase): Promise<RebuildResult> {
  const started = Date.now();
  const { model, position, events } = await replayIntoMemory(db);
  const snapshot = model.snapshot();
  await db.dataSource.transaction(async (manager) => {
    await manager.query(`TRUNCATE ${READ_MODEL_TABLES.map((t) => db.table(t)).join(', ')}`);
    const chunks = <T>(rows: T[], size = 1000): T[][] => Array.from({ length: Math.ceil(rows.length / size) }, (_, i) => rows.slice(i * size, (i + 1) * size));
    for (const rows of chunks(snapshot.sites)) await manager.insert(SiteEntity, rows);
    for (const rows of chunks(snapshot.clusters)) await manager.insert(ClusterEntity, rows);
    for (const rows of chunks(snapshot.nodes)) await manager.insert(NodeEntity, rows);
    for (const rows of chunks(snapshot.devices)) await manager.insert(DeviceEntity, rows);
    for (const rows of chunks(snapshot.alerts)) await manager.insert(AlertEntity, rows);
    await storeCheckpoint(db.store, READ_MODEL_SUBSCRIPTION, position, manager.queryRunner);
  });
  return {
    position,
    events,
    counts: { sites: snapshot.sites.length, clusters: snapshot.clusters.length, nodes: snapshot.nodes.length, devices: snapshot.devices.length, alerts: snapshot.alerts.length },
    elapsedMs: Date.now() - started,
  };
}
