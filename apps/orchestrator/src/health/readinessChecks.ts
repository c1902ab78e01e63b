/**
 * The control plane's readiness as `@nestjs/terminus` health indicators (orchestrator and gateway): the database
 * answers a `SELECT 1`, NATS answers a round trip, and the read models are no further than a bound behind the log.
 */
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { readCheckpoint, readNewestPosition } from '@tandem/event-store';
import type { NatsConnection } from 'nats';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { READ_MODEL_SUBSCRIPTION } from '../projections/readModelProjector';

/** How long one check may take before it counts as down. */
export const CHECK_TIMEOUT_MS = 2000;

/** How far the read models are behind the log: newest position − the projector's checkpoint. */
export async function projectionLag(db: OrchestratorDatabase): Promise<{ head: number; checkpoint: number; lag: number }> {
  const [head, checkpoint] = await Promise.all([readNewestPosition(db.store), readCheckpoint(db.store, READ_MODEL_SUBSCRIPTION)]);
  return { head, checkpoint, lag: Math.max(0, head - checkpoint) };
}

@Injectable()
export class ReadinessIndicators {
  constructor(@Inject(HealthIndicatorService) private readonly health: HealthIndicatorService) {}

  database(db: OrchestratorDatabase, key = 'database'): Promise<HealthIndicatorResult> {
    return this.bounded(key, async () => (await db.dataSource.query('SELECT 1 AS ok'), {}));
  }

  /** A PING/PONG with the server: `flush` resolves only when the server answered. */
  nats(key: string, nc: () => NatsConnection | null): Promise<HealthIndicatorResult> {
    return this.bounded(key, async () => {
      const conn = nc();
      if (!conn) throw new Error('not configured');
      if (conn.isClosed()) throw new Error('connection closed');
      await conn.flush();
      return { server: conn.getServer() };
    });
  }

  projection(db: OrchestratorDatabase, maxLagEvents: number, key = 'projection'): Promise<HealthIndicatorResult> {
    return this.bounded(key, async () => {
      const { lag, head } = await projectionLag(db);
      if (lag > maxLagEvents) throw new Error(`read models ${lag} events behind the log (head ${head}), more than ${maxLagEvents}`);
      return { lagEvents: lag, maxLagEvents };
    });
  }

  /** Up with what `run` tells, or down with its error's message; a check that hangs is down after CHECK_TIMEOUT_MS. */
  private async bounded(key: string, run: () => Promise<Record<string, unknown>>): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    try {
      return indicator.up(await withTimeout(run(), key));
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}

function withTimeout<T>(work: Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${name}: no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
