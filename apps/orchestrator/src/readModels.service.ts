/** Queries over the read models, time travel, and the rebuild (which pauses the live projector around it). */
import type { GlobalPosition } from '@tandem/event-store';
import type { OrchestratorDatabase } from './database/orchestratorDatabase';
import type { FleetSnapshot } from './projections/fleetProjection';
import { readModelSnapshot, rebuildReadModels, stateAt, type RebuildResult } from './projections/rebuildReadModels';
import type { ReadModelProjector } from './projections/readModelProjector';

export class ReadModels {
  constructor(
    private readonly db: OrchestratorDatabase,
    private readonly projector: ReadModelProjector,
  ) {}

  snapshot(): Promise<FleetSnapshot> {
    return readModelSnapshot(this.db);
  }

  stateAt(position: GlobalPosition): Promise<FleetSnapshot> {
    return stateAt(this.db, position);
  }

  /** Waits until the tables include `position` (e.g. from a command reply). */
  waitFor(position: GlobalPosition, timeoutMs?: number): Promise<void> {
    return this.projector.waitFor(position, timeoutMs);
  }

  async rebuild(): Promise<RebuildResult> {
    const wasRunning = this.projector.isRunning;
    await this.projector.stop();
    try {
      return await rebuildReadModels(this.db);
    } finally {
      if (wasRunning) this.projector.start();
    }
  }
}
