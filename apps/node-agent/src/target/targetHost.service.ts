import { readFileSync } from 'fs';
import { Inject, Injectable, Logger as NestLogger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Logger } from '@tandem/iscsi';
import { TargetHost } from '@tandem/target-host';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { OutboxService } from '../outbox/outbox.service';
import { SerialQueue, writeFileAtomic } from '../state/atomicFile';
import { NodeIdentityService } from '../state/nodeIdentity.service';

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

  private readonly lastProgress = new Map<string, number>();

  constructor(
    @Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings,
    @Inject('DATA_PLANE_LOGGER') private readonly log: Logger,
    private readonly outbox: OutboxService,
    private readonly identity: NodeIdentityService,
  ) {}

  async onModuleInit(): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.settings.configPath, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read node config ${this.settings.configPath}: ${(err as Error).message}`);
    }
    // The node's sync identity is its node id, which partners and the orchestrator know it by: filled in when the
    // config's replication section leaves it out (an explicit one is kept; managed HA devices then refuse, see DeviceCommands).
    const replication = (raw as { replication?: Record<string, unknown> } | null)?.replication;
    if (replication && typeof replication === 'object' && replication.nodeId === undefined) replication.nodeId = this.identity.nodeId;
    this.host = await TargetHost.start(raw, this.log);
    // HA transitions are facts for the event log: into the outbox (the data path never waits for it).
    this.host.onHaEvent = (lun, event) => {
      this.log.info({ target: lun.target, lun: lun.lun, ...event }, 'HA event');
      if (event.type === 'ResyncProgress') {
        const last = this.lastProgress.get(lun.deviceId) ?? 0;
        // A fact worth keeping, but not every second: one report per device per interval.
        if (Date.now() - last < this.settings.resyncProgressReportMs) return;
        this.lastProgress.set(lun.deviceId, Date.now());
      }
      this.outbox.record({ type: 'HaStateChanged', data: { deviceId: lun.deviceId, event } }).catch((err) => this.nestLog.error(`cannot record ${event.type}: ${(err as Error).message}`));
    };
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
