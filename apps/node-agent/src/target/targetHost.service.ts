import { readFileSync } from 'fs';
import { Inject, Injectable, Logger as NestLogger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Logger } from '@tandem/iscsi';
import { TargetHost } from '@tandem/target-host';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';

/** Owns the node's data plane (targets, stores) for the Nest lifecycle; the data path itself knows no Nest. */
@Injectable()
export class TargetHostService implements OnModuleInit, OnApplicationShutdown {
  private host: TargetHost | null = null;
  private readonly nestLog = new NestLogger('TargetHost');

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

  async onApplicationShutdown(): Promise<void> {
    await this.host?.stop(1500);
    this.host = null;
  }
}
