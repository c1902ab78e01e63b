/**
 * GET /health/live, /health/ready (database, NATS, projection lag; with a co-located orchestrator its checks too)
 * and /metrics on the gateway's HTTP server.
 */
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { databaseCheck, maxLagFromEnv, natsCheck, projectionLagCheck, runChecks, type Check, type OrchestratorDatabase, type OrchestratorObservability } from '@tandem/orchestrator';
import type { NatsConnection } from 'nats';
import { collectDefaultMetrics, Registry } from 'prom-client';

export const GATEWAY_OBSERVABILITY = Symbol('GATEWAY_OBSERVABILITY');

/** The gateway's registry (the GraphQL histogram, Node's process metrics) and readiness checks. */
export class GatewayObservability {
  readonly registry = new Registry();
  readonly checks: Check[];

  /** `orchestrator`: the one in this process (tandem stack), whose series and NATS check are served here too. */
  constructor(db: OrchestratorDatabase, nc: NatsConnection, readonly orchestrator: OrchestratorObservability | null) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tandem_gateway_' });
    this.checks = [databaseCheck(db), natsCheck('nats', () => nc), projectionLagCheck(db, maxLagFromEnv())];
    for (const [name, run] of orchestrator?.readinessChecks ?? []) if (name === 'nats') this.checks.push(['orchestrator_nats', run]);
  }
}

/** The part of express's response the readiness handler needs (its status depends on the checks). */
interface StatusResponse {
  status(code: number): { json(body: unknown): void };
}

@Controller('health')
export class HealthController {
  constructor(@Inject(GATEWAY_OBSERVABILITY) private readonly observability: GatewayObservability) {}

  @Get('live')
  live(): unknown {
    return { status: 'ok', info: {}, error: {}, details: {} };
  }

  @Get('ready')
  async ready(@Res() res: StatusResponse): Promise<void> {
    const report = await runChecks(this.observability.checks);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(@Inject(GATEWAY_OBSERVABILITY) private readonly observability: GatewayObservability) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    const { registry, orchestrator } = this.observability;
    // One page per process: with the orchestrator beside it (tandem stack) its series appear here as well.
    return (orchestrator ? Registry.merge([registry, orchestrator.registry]) : registry).metrics();
  }
}
