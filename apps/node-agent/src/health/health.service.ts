import * as http from 'http';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { NatsService } from '../nats/nats.service';
import { OutboxService } from '../outbox/outbox.service';
import { AgentRegistrationService } from '../registration/agentRegistration.service';
import { NodeIdentityService } from '../state/nodeIdentity.service';
import { TargetHostService } from '../target/targetHost.service';
import { TelemetryService } from '../telemetry/telemetry.service';

/** GET /health (JSON) and GET /metrics (Prometheus text) on the node's management port. */
@Injectable()
export class HealthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: http.Server | null = null;

  constructor(
    @Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings,
    private readonly targets: TargetHostService,
    private readonly identity: NodeIdentityService,
    private readonly nats: NatsService,
    private readonly outbox: OutboxService,
    private readonly registration: AgentRegistrationService,
    private readonly telemetry: TelemetryService,
  ) {}

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
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end([
        '# HELP tandem_iscsi_sessions iSCSI sessions open',
        '# TYPE tandem_iscsi_sessions gauge',
        `tandem_iscsi_sessions ${stats.sessions}`,
        '# HELP tandem_iscsi_connections iSCSI connections open',
        '# TYPE tandem_iscsi_connections gauge',
        `tandem_iscsi_connections ${stats.connections}`,
        '# HELP tandem_outbox_pending Reports recorded but not yet acknowledged by NATS',
        '# TYPE tandem_outbox_pending gauge',
        `tandem_outbox_pending ${this.outbox.pending().length}`,
        ...this.lunMetrics(),
        '',
      ].join('\n'));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  }

  /** Per-LU counters straight from the data path (monotonic; Prometheus computes the rates). */
  private lunMetrics(): string[] {
    const luns = this.targets.current?.luns ?? [];
    const series: [string, string, (s: ReturnType<(typeof luns)[number]['stats']['peek']>) => number][] = [
      ['tandem_lu_read_commands_total', 'counter', (s) => s.readCommands],
      ['tandem_lu_write_commands_total', 'counter', (s) => s.writeCommands],
      ['tandem_lu_read_bytes_total', 'counter', (s) => s.readBytes],
      ['tandem_lu_write_bytes_total', 'counter', (s) => s.writeBytes],
      ['tandem_lu_read_seconds_total', 'counter', (s) => s.readMicros / 1e6],
      ['tandem_lu_write_seconds_total', 'counter', (s) => s.writeMicros / 1e6],
      ['tandem_lu_commands_in_flight', 'gauge', (s) => s.inFlight],
    ];
    const snapshots = luns.map((l) => ({ l, s: l.stats.peek() }));
    const out: string[] = [];
    for (const [name, type, value] of series) {
      out.push(`# TYPE ${name} ${type}`);
      for (const { l, s } of snapshots) out.push(`${name}{target="${l.target}",lun="${l.lun}",device="${l.deviceId}"} ${value(s)}`);
    }
    return out;
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
