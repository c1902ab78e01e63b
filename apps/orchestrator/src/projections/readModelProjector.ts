/**
 * Feeds the read-model tables from the log with a catch-up loop of its own: each page of events and the
 * subscription checkpoint are written in ONE transaction, so a crash anywhere replays nothing twice and skips
 * nothing (exactly-once projection). Run one projector per database.
 */
import { readAll, storeCheckpoint, type GlobalPosition } from '@tandem/event-store';
import type { QueryRunner } from 'typeorm';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { projectEvent } from './fleetProjection';
import { SqlFleetModel } from './sqlFleetModel';

export const READ_MODEL_SUBSCRIPTION = 'orchestrator-read-models';

export interface ProjectorOptions {
  batchSize?: number;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

export class ReadModelProjector {
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;
  private current: GlobalPosition = 0;
  private readonly waiters = new Set<{ position: GlobalPosition; resolve: () => void }>();
  private failure?: unknown;

  constructor(
    private readonly db: OrchestratorDatabase,
    private readonly options: ProjectorOptions = {},
  ) {}

  /** Last position projected and committed. */
  get position(): GlobalPosition {
    return this.current;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.failure = undefined;
    this.running = this.loop().catch((error) => {
      this.failure = error;
      (this.options.onError ?? ((e) => console.error('read-model projector stopped:', e)))(error);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /** Resolves once the read models include `position` (e.g. the position a command reply carried). */
  async waitFor(position: GlobalPosition, timeoutMs = 10_000): Promise<void> {
    if (this.current >= position) return;
    if (this.failure) throw this.failure;
    this.wake?.();
    await new Promise<void>((resolve, reject) => {
      const waiter = { position, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`read models did not reach position ${position} within ${timeoutMs} ms (at ${this.current})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Projects everything committed so far, then returns the position reached. Do not call while started. */
  async catchUp(): Promise<GlobalPosition> {
    this.current = await readCheckpoint(this.db.store, READ_MODEL_SUBSCRIPTION);
    if (this.current === 0) await ensureCheckpointRow(this.db);
    while (!(await this.projectPage())) {
      /* next page */
    }
    return this.current;
  }

  private async loop(): Promise<void> {
    this.current = await readCheckpoint(this.db.store, READ_MODEL_SUBSCRIPTION);
    // The row must exist for the compare-and-set lock to mean anything.
    if (this.current === 0) await ensureCheckpointRow(this.db);
    while (!this.stopping) {
      const caughtUp = await this.projectPage();
      if (caughtUp && !this.stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollIntervalMs ?? 50);
          this.wake = () => (clearTimeout(timer), resolve());
        });
        this.wake = undefined;
      }
    }
  }

  /** One page in one transaction; true when the log had nothing more. */
  private async projectPage(): Promise<boolean> {
    const limit = this.options.batchSize ?? 500;
    const page = await readAll(this.db.store, { after: this.current, limit });
    if (page.events.length > 0) {
      const moved = await this.db.dataSource.transaction(async (manager) => {
        // Compare-and-set on the checkpoint row: a rebuild (or another projector) that moved it wins, and this
        // page is dropped; the loop resumes from the stored position.
        const stored = await readCheckpoint(this.db.store, READ_MODEL_SUBSCRIPTION, manager.queryRunner, 'FOR UPDATE');
        if (stored !== this.current) return stored;
        const model = new SqlFleetModel(manager);
        for (const event of page.events) await projectEvent(model, event);
        await storeCheckpoint(this.db.store, READ_MODEL_SUBSCRIPTION, page.nextPosition, manager.queryRunner);
        return undefined;
      });
      if (moved !== undefined) {
        this.current = moved;
        return false;
      }
      this.current = page.nextPosition;
      for (const waiter of this.waiters) {
        if (waiter.position <= this.current) {
          this.waiters.delete(waiter);
          waiter.resolve();
        }
      }
    }
    return page.isEnd;
  }
}

async function readCheckpoint(store: OrchestratorDatabase['store'], name: string, runner?: QueryRunner, lock = ''): Promise<GlobalPosition> {
  const rows: { position: string }[] = await (runner ?? store.dataSource).query(
    `SELECT position FROM ${store.table('subscription_checkpoints')} WHERE subscription_name = $1 ${lock}`,
    [name],
  );
  return rows.length === 0 ? 0 : Number(rows[0].position);
}

async function ensureCheckpointRow(db: OrchestratorDatabase): Promise<void> {
  await db.dataSource.query(
    `INSERT INTO ${db.store.table('subscription_checkpoints')} (subscription_name, position) VALUES ($1, 0) ON CONFLICT (subscription_name) DO NOTHING`,
    [READ_MODEL_SUBSCRIPTION],
  );
}
