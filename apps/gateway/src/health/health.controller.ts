/**
 * GET /health/live, /health/ready (database, NATS, projection lag; with a co-located orchestrator its NATS too, through
 * `@nestjs/terminus`) and /metrics on the gateway's HTTP server.
 */
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import { maxLagFromEnv, ReadinessIndicators, type OrchestratorDatabase, type OrchestratorObservability } from '@tandem/orchestrator';
import type { NatsConnection } from 'nats';
import { collectDefaultMetrics, Registry } from 'prom-client';

export const GATEWAY_OBSERVABILITY = Symbol('GATEWAY_OBSERVABILITY');

/** The gateway's registry (the GraphQL histogram, Node's process metrics) and what its readiness checks. */
export class GatewayObservability {
  readonly registry = new Registry();
  readonly maxLagEvents = maxLagFromEnv();

  /** `orchestrator`: the one in this process (tandem stack), whose series and NATS check are served here too. */
  constructor(private readonly db: OrchestratorDatabase, private readonly nc: NatsConnection, readonly orchestrator: OrchestratorObservability | null) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tandem_gateway_' });
  }

  readiness(indicators: ReadinessIndicators): HealthIndicatorFunction[] {
    const { db, nc, maxLagEvents } = this;
    const checks: HealthIndicatorFunction[] = [() => indicators.database(db), () => indicators.nats('nats', () => nc), () => indicators.projection(db, maxLagEvents)];
    const orchestratorNats = this.orchestrator?.nats;
    if (orchestratorNats) checks.push(() => indicators.nats('orchestrator_nats', () => orchestratorNats));
    return checks;
  }
}

@Controller('health')
export class HealthController {
  constructor(
    @Inject(GATEWAY_OBSERVABILITY) private readonly observability: GatewayObservability,
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(ReadinessIndicators) private readonly indicators: ReadinessIndicators,
  ) {}

  @Get('live')
  live(): unknown {
    return { status: 'ok', info: {}, error: {}, details: {} };
  }

  /** 200 with the result, or terminus's ServiceUnavailableException: 503 with the same shape. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.observability.readiness(this.indicators));
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
