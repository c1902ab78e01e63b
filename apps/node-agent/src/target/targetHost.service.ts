import { readFileSync } from 'fs';
import { Inject, Injectable, Logger as NestLogger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Logger } from '@tandem/iscsi';
import { TargetHost } from '@tandem/target-host';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { SerialQueue, writeFileAtomic } from '../state/atomicFile';

/**
 * Owns the node's data plane (targets, stores) for the Nest lifecycle; the data path itself knows no Nest. The
 * config file is the node's own record of its devices: every live change is written back to it (atomically), so
 * a restart serves the same LUNs whether or not NATS and the orchestrator are there.
 */
@Injectable()
export class TargetHostService implements OnModuleInit, OnApplicationShutdown {
  private host: TargetHost | null = null;
  private readonly nestLog = new NestLogger('TargetHost');
  private readonly writes = new SerialQueue();
  /** Set when the config file could not be written (health turns degraded). */
  persistError: string | null = null;

  constructor(@Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings, @Inject('DATA_PLANE_LOGGER') private readonly log: Logger) {}

  async onModuleInit(): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.settings.configPath, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read node config ${this.settings.configPath}: ${(err as Error).message}`);
    }
    this.host = await TargetHost.start(raw, this.log);
    this.nestLog.log(`serving ${this.host.luns.length} LUN(s) on ${this.host.server.listening().map((p) => `${p.host}:${p.port}`).join(', ')}`);
  }

  get current(): TargetHost | null {
    return this.host;
  }

  /** Writes the live configuration back to the config file (tmp + fsync + rename); one write at a time. */
  persist(): Promise<void> {
    return this.writes.run(async () => {
      if (!this.host) return;
      try {
        await writeFileAtomic(this.settings.configPath, `${JSON.stringify(this.host.config, null, 2)}\n`);
        this.persistError = null;
      } catch (err) {
        this.persistError = (err as Error).message;
        throw err;
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.writes.idle();
    await this.host?.stop(1500);
    this.host = null;
  }
}
