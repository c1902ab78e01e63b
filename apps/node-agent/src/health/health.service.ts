import * as http from 'http';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { createNodeMetrics } from '../metrics/nodeMetrics';
import { NatsService } from '../nats/nats.service';
import { OutboxService } from '../outbox/outbox.service';
import { AgentRegistrationService, agentVersion } from '../registration/agentRegistration.service';
import { NodeIdentityService } from '../state/nodeIdentity.service';
import { TargetHostService } from '../target/targetHost.service';
import { TelemetryService } from '../telemetry/telemetry.service';

/** GET /health (JSON) and GET /metrics (Prometheus text, see metrics/nodeMetrics.ts) on the node's management port. */
@Injectable()
export class HealthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: http.Server | null = null;
  readonly metrics: Registry;

  constructor(
    @Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings,
    private readonly targets: TargetHostService,
    private readonly identity: NodeIdentityService,
    private readonly nats: NatsService,
    private readonly outbox: OutboxService,
    private readonly registration: AgentRegistrationService,
    private readonly telemetry: TelemetryService,
  ) {
    this.metrics = createNodeMetrics({
      host: () => this.targets.current,
      outboxPending: () => this.outbox.pending().length,
      nodeId: () => this.identity.nodeId,
      health: () => this.telemetry.currentHealth().health,
      version: agentVersion(),
      imageDir: this.settings.imageDir,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.settings.httpPort, this.settings.httpHost, () => resolve());
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const host = this.targets.current;
    const stats = host?.server.stats() ?? { sessions: 0, connections: 0 };
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(host ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        status: host ? 'ok' : 'starting',
        ...stats,
        luns: host?.luns.length ?? 0,
        nodeId: this.identity.nodeId,
        health: this.telemetry.currentHealth().health,
        nats: this.nats.connectedNow ? 'connected' : this.settings.natsUrl ? 'disconnected' : 'disabled',
        registration: this.registration.state,
        outboxPending: this.outbox.pending().length,
      }));
      return;
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      this.metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType });
          res.end(text);
        },
        (error: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${error.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
