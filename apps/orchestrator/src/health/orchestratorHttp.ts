/**
 * The orchestrator's own small HTTP server (it has no other): GET /health/live, /health/ready and /metrics, on
 * `TANDEM_ORCHESTRATOR_HTTP` (the standalone main defaults it to 127.0.0.1:4001; off when not set otherwise).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import { ORCHESTRATOR_SETTINGS, type OrchestratorSettings } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { createOrchestratorMetrics } from '../metrics/orchestratorMetrics';
import { databaseCheck, natsCheck, projectionLagCheck, runChecks, type Check, type HealthReport } from './readinessChecks';

/** What the orchestrator tells about itself: its series and its readiness checks (a co-located gateway serves them too). */
export class OrchestratorObservability {
  readonly registry: Registry;
  readonly readinessChecks: Check[];

  constructor(db: OrchestratorDatabase, nc: NatsConnection | null, settings: OrchestratorSettings) {
    this.registry = createOrchestratorMetrics(db);
    this.readinessChecks = [databaseCheck(db), projectionLagCheck(db, settings.readyMaxLagEvents)];
    if (nc) this.readinessChecks.push(natsCheck('nats', () => nc));
  }

  ready(): Promise<HealthReport> {
    return runChecks(this.readinessChecks);
  }
}

/** Answers the three endpoints from a registry and a readiness function; shared by the orchestrator's server. */
export function serveHealthAndMetrics(registry: () => Registry, ready: () => Promise<HealthReport>): http.RequestListener {
  return (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return reply(405, { error: 'GET only' });
    if (req.url === '/health/live') return reply(200, { status: 'ok', info: {}, error: {}, details: {} });
    if (req.url === '/health/ready') {
      ready().then(
        (report) => reply(report.status === 'ok' ? 200 : 503, report),
        (error: Error) => reply(503, { status: 'error', message: error.message }),
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
  ) {}

  /** Where it listens (null: not configured). */
  address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const listen = this.settings.httpListen;
    if (!listen) return;
    const server = http.createServer(serveHealthAndMetrics(() => this.observability.registry, () => this.observability.ready()));
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
