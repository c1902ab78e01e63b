// A private nats-server with JetStream for one test file, listening on every address of this namespace so agents
// in network namespaces can reach it through their links' root-side addresses; stopped and its store removed after.
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { connect } from 'nats';
import { freePort, spawnTracked, stopChild, until } from '@tandem/testing';

export class PrivateNats {
  private child?: ChildProcess;
  private output = '';
  private readonly storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-nats-'));
  port = 0;

  /** URL of the server as reached at `host` (127.0.0.1 from here, a link's root-side address from a namespace). */
  url(host = '127.0.0.1'): string {
    return `nats://${host}:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort('0.0.0.0');
    const child = spawnTracked('nats-server', ['-a', '0.0.0.0', '-p', String(this.port), '-js', '-sd', this.storeDir, '--server_name', `tandem-test-${this.port}`]);
    this.child = child;
    for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    await until(async () => {
      if (child.exitCode !== null) return 'exited';
      const nc = await connect({ servers: this.url(), timeout: 1000, reconnect: false });
      try {
        await (await nc.jetstreamManager()).getAccountInfo();
        return 'ready';
      } finally {
        await nc.close();
      }
    }, 'the private nats-server to accept JetStream connections', 30_000, 150);
    if (child.exitCode !== null) throw new Error(`nats-server exited:\n${this.output.slice(-2000)}`);
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 5000);
    fs.rmSync(this.storeDir, { recursive: true, force: true });
  }
}
