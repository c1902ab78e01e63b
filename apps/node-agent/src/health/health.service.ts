import * as http from 'http';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { TargetHostService } from '../target/targetHost.service';

/** GET /health (JSON) and GET /metrics (Prometheus text) on the node's management port. */
@Injectable()
export class HealthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: http.Server | null = null;

  constructor(@Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings, private readonly targets: TargetHostService) {}

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
      res.end(JSON.stringify({ status: host ? 'ok' : 'starting', ...stats, luns: host?.luns.length ?? 0 }));
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
        '',
      ].join('\n'));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
