/**
 * Liveness and readiness of the control plane's services (orchestrator, gateway): the database answers a
 * `SELECT 1`, NATS answers a round trip, and the read models are no further than a bound behind the log. The
 * answer has the shape `@nestjs/terminus` uses ({ status, info, error, details }), so tools built for it read it.
 */
import { readCheckpoint, readNewestPosition } from '@tandem/event-store';
import type { NatsConnection } from 'nats';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { READ_MODEL_SUBSCRIPTION } from '../projections/readModelProjector';

const CHECK_TIMEOUT_MS = 2000;

export type CheckResult = { status: 'up' | 'down'; [detail: string]: unknown };
export type Check = [name: string, run: () => Promise<Record<string, unknown>>];

export interface HealthReport {
  status: 'ok' | 'error';
  info: Record<string, CheckResult>;
  error: Record<string, CheckResult>;
  details: Record<string, CheckResult>;
}

/** Runs every check at once, each bounded in time; any failure makes the report an error. */
export async function runChecks(checks: Check[]): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async ([name, run]): Promise<[string, CheckResult]> => {
      try {
        return [name, { status: 'up', ...(await withTimeout(run(), name)) }];
      } catch (error) {
        return [name, { status: 'down', message: (error as Error).message }];
      }
    }),
  );
  const report: HealthReport = { status: 'ok', info: {}, error: {}, details: {} };
  for (const [name, result] of results) {
    report.details[name] = result;
    if (result.status === 'up') report.info[name] = result;
    else {
      report.error[name] = result;
      report.status = 'error';
    }
  }
  return report;
}

function withTimeout<T>(work: Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${name}: no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function databaseCheck(db: OrchestratorDatabase): Check {
  return ['database', async () => (await db.dataSource.query('SELECT 1 AS ok'), {})];
}

/** A PING/PONG with the server: `flush` resolves only when the server answered. */
export function natsCheck(name: string, nc: () => NatsConnection | null): Check {
  return [
    name,
    async () => {
      const conn = nc();
      if (!conn) throw new Error('not configured');
      if (conn.isClosed()) throw new Error('connection closed');
      await conn.flush();
      return { server: conn.getServer() };
    },
  ];
}

/** How far the read models are behind the log: newest position − the projector's checkpoint. */
export async function projectionLag(db: OrchestratorDatabase): Promise<{ head: number; checkpoint: number; lag: number }> {
  const [head, checkpoint] = await Promise.all([readNewestPosition(db.store), readCheckpoint(db.store, READ_MODEL_SUBSCRIPTION)]);
  return { head, checkpoint, lag: Math.max(0, head - checkpoint) };
}

export function projectionLagCheck(db: OrchestratorDatabase, maxLagEvents: number): Check {
  return [
    'projection',
    async () => {
      const { lag, head } = await projectionLag(db);
      if (lag > maxLagEvents) throw new Error(`read models ${lag} events behind the log (head ${head}), more than ${maxLagEvents}`);
      return { lagEvents: lag, maxLagEvents };
    },
  ];
}
