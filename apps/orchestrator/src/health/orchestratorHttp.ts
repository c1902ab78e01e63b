/**
 * The orchestrator's own small HTTP server (it has no other): GET /health/live, /health/ready and /metrics, on
 * `TANDEM_ORCHESTRATOR_HTTP` (the standalone main defaults it to 127.0.0.1:4001; off when not set otherwise);
 * readiness runs through `@nestjs/terminus`'s HealthCheckService from the orchestrator's Nest context.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { Inject, Injectable, Logger, ServiceUnavailableException, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import type { NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import { ORCHESTRATOR_SETTINGS, type OrchestratorSettings } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { createOrchestratorMetrics } from '../metrics/orchestratorMetrics';
import { ReadinessIndicators } from './readinessChecks';

/** What the orchestrator tells about itself: its series and what its readiness checks (a co-located gateway serves the series and checks its NATS too). */
export class OrchestratorObservability {
  readonly registry: Registry;
  readonly maxLagEvents: number;

  /** `nats`: the orchestrator's own connection (null when it runs without NATS). */
  constructor(readonly db: OrchestratorDatabase, readonly nats: NatsConnection | null, settings: OrchestratorSettings) {
    this.registry = createOrchestratorMetrics(db);
    this.maxLagEvents = settings.readyMaxLagEvents;
  }

  /** The orchestrator's readiness: database, projection lag, and NATS when it has a connection. */
  readiness(indicators: ReadinessIndicators): HealthIndicatorFunction[] {
    const { db, nats, maxLagEvents } = this;
    const checks: HealthIndicatorFunction[] = [() => indicators.database(db), () => indicators.projection(db, maxLagEvents)];
    if (nats) checks.push(() => indicators.nats('nats', () => nats));
    return checks;
  }
}

/** Answers the three endpoints from a registry and terminus's readiness check (it throws a 503 carrying the result). */
export function serveHealthAndMetrics(registry: () => Registry, ready: () => Promise<HealthCheckResult>): http.RequestListener {
  return (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return reply(405, { error: 'GET only' });
    if (req.url === '/health/live') return reply(200, { status: 'ok', info: {}, error: {}, details: {} });
    if (req.url === '/health/ready') {
      ready().then(
        (result) => reply(200, result),
        (error: Error) => reply(503, error instanceof ServiceUnavailableException ? error.getResponse() : { status: 'error', message: error.message }),
      );
      return;
    }
    if (req.url === '/metrics') {
      const r = registry();
      r.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': r.contentType });
          res.end(text);
        },
        (error: Error) => reply(500, { error: error.message }),
      );
      return;
    }
    reply(404, { error: 'not found' });
  };
}

@Injectable()
export class OrchestratorHttpServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: http.Server | null = null;

  constructor(
    @Inject(ORCHESTRATOR_SETTINGS) private readonly settings: OrchestratorSettings,
    @Inject(OrchestratorObservability) private readonly observability: OrchestratorObservability,
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(ReadinessIndicators) private readonly indicators: ReadinessIndicators,
  ) {}

  /** Where it listens (null: not configured). */
  address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const listen = this.settings.httpListen;
    if (!listen) return;
    const server = http.createServer(serveHealthAndMetrics(() => this.observability.registry, () => this.health.check(this.observability.readiness(this.indicators))));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`health/metrics on ${listen.host}:${listen.port}: ${error.code === 'EADDRINUSE' ? 'already in use' : error.message}`)));
      server.listen(listen.port, listen.host, () => resolve());
    });
    this.server = server;
    const a = this.address()!;
    new Logger('Orchestrator').log(`health and metrics at http://${listen.host}:${a.port}/health/ready, /metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
