/**
 * Every interval: per-LU rates from the data path's counters (IOPS, MB/s, mean latency, peak queue depth), the
 * node's health, published on `tandem.telemetry.<nodeId>` when NATS is there (telemetry is not kept for later);
 * a health change is a fact and goes to the outbox.
 */
import { statfsSync } from 'fs';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { idSchema, nodeTelemetrySchema, telemetrySubject, type NodeTelemetry } from '@tandem/contracts';
import { ratesBetween, type LuRates, type LuStatsSnapshot, type TargetHost } from '@tandem/target-host';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { NatsService } from '../nats/nats.service';
import { OutboxService } from '../outbox/outbox.service';
import { AgentRegistrationService } from '../registration/agentRegistration.service';
import { NodeIdentityService } from '../state/nodeIdentity.service';
import { TargetHostService } from '../target/targetHost.service';

type Health = NodeTelemetry['health'];
type HaDevice = NonNullable<TargetHost['luns'][number]['ha']>;

export interface LunTelemetry extends LuRates {
  target: string;
  lun: number;
  deviceId: string;
  /** RAM cache: dirty bytes and the estimated time to write them out (0 without a cache; null: not measured yet). */
  cacheDirtyBytes: number;
  cacheFlushSeconds: number | null;
  /** HA replicas: each partner's sync links as this node sees them now. */
  ha?: NonNullable<NodeTelemetry['devices'][number]['ha']>;
}

@Injectable()
export class TelemetryService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;
  private readonly previous = new Map<object, LuStatsSnapshot>();
  private readonly log = new Logger('Telemetry');
  health: Health | null = null;
  private healthSaidSinceRegistered = false;
  latest: LunTelemetry[] = [];
  published = 0;

  constructor(
    @Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings,
    private readonly identity: NodeIdentityService,
    private readonly targets: TargetHostService,
    private readonly outbox: OutboxService,
    private readonly nats: NatsService,
    private readonly registration: AgentRegistrationService,
  ) {}

  onApplicationBootstrap(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.settings.telemetryIntervalMs);
  }

  /**
   * ok: serving and keeping its state; degraded: serving, but the config file cannot be written or the images'
   * file system is nearly full (thin images then fail writes as they grow); failing: not serving.
   */
  currentHealth(): { health: Health; reason?: string } {
    if (!this.targets.current) return { health: 'failing', reason: 'target host not running' };
    if (this.targets.persistError) return { health: 'degraded', reason: `config file not writable: ${this.targets.persistError}`.slice(0, 512) };
    const space = imageSpace(this.settings.imageDir);
    if (space && space.freePercent < this.settings.spaceWarnPercent) {
      const reason = `image file system ${this.settings.imageDir} has ${space.freePercent.toFixed(1)}% free (${space.freeBytes} bytes), below ${this.settings.spaceWarnPercent}%: thin devices may fail writes`;
      return { health: 'degraded', reason: reason.slice(0, 512) };
    }
    return { health: 'ok' };
  }

  /** One sample; public so tests need not wait for the timer. */
  async tick(): Promise<NodeTelemetry | null> {
    const host = this.targets.current;
    const { health, reason } = this.currentHealth();
    // Once registered, the health is said again: a report recorded before the orchestrator knew the node is lost.
    const registered = this.registration.state === 'registered';
    if (health !== this.health || (registered && !this.healthSaidSinceRegistered)) {
      const previous = this.health ?? undefined;
      this.health = health;
      if (registered) this.healthSaidSinceRegistered = true;
      await this.outbox.record({ type: 'NodeHealthChanged', data: { health, previous, reason } }).catch((err) => this.log.error(`cannot record health change: ${(err as Error).message}`));
    }
    const luns = host?.luns ?? [];
    const space = imageSpace(this.settings.imageDir);
    const seen = new Set<object>();
    this.latest = luns.map((l) => {
      seen.add(l.stats);
      const now = l.stats.takeSnapshot();
      const before = this.previous.get(l.stats) ?? now;
      this.previous.set(l.stats, now);
      return { target: l.target, lun: l.lun, deviceId: l.deviceId, ...ratesBetween(before, now), cacheDirtyBytes: now.cacheDirtyBytes, cacheFlushSeconds: now.cacheFlushSeconds, ha: haLinks(l.ha) };
    });
    for (const key of this.previous.keys()) if (!seen.has(key)) this.previous.delete(key);
    const telemetry = nodeTelemetrySchema.parse({
      nodeId: this.identity.nodeId,
      sentAt: new Date().toISOString(),
      intervalMs: this.settings.telemetryIntervalMs,
      health,
      usedBytes: luns.reduce((sum, l) => sum + l.store.sizeBytes, 0),
      ...(space ? { imageFsBytes: space.totalBytes, imageFsFreeBytes: space.freeBytes } : {}),
      // Telemetry names devices by their orchestrator id; operator-configured LUNs show only in /metrics.
      devices: this.latest.filter((l) => idSchema.safeParse(l.deviceId).success).map((l) => ({
        deviceId: l.deviceId,
        readIops: l.readIops,
        writeIops: l.writeIops,
        readBytesPerSecond: l.readBytesPerSecond,
        writeBytesPerSecond: l.writeBytesPerSecond,
        readLatencyMicros: l.readLatencyMicros,
        writeLatencyMicros: l.writeLatencyMicros,
        queueDepth: l.queueDepth,
        cacheDirtyBytes: l.cacheDirtyBytes,
        cacheFlushSeconds: l.cacheFlushSeconds === null || Number.isFinite(l.cacheFlushSeconds) ? l.cacheFlushSeconds : null,
        ...(l.ha ? { ha: l.ha } : {}),
      })),
    });
    const nc = this.nats.connection;
    if (nc && this.nats.connectedNow) {
      nc.publish(this.nats.subject(telemetrySubject(this.identity.nodeId)), JSON.stringify(telemetry));
      this.published++;
    }
    return telemetry;
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** Each partner's sync links now: how many are up of those configured, and the slowest link's round-trip floor. */
function haLinks(ha: HaDevice | undefined): LunTelemetry['ha'] {
  if (!ha) return undefined;
  return {
    partners: ha.partners.slice(0, 8).map((p) => ({
      nodeId: p.nodeId,
      state: p.state,
      linksUp: p.channel.linkCount,
      linksConfigured: p.cfg.sync.length,
      // The floor over the interval's pings: one ping delayed by a busy host is not a slow link.
      rttMicros: ((rtt) => (rtt >= 0 ? Math.round(rtt) : null))(p.channel.takeRttFloor()),
    })),
  };
}

/** Size and free space of the file system under the image directory, or null before it exists. */
function imageSpace(dir: string): { totalBytes: number; freeBytes: number; freePercent: number } | null {
  try {
    const st = statfsSync(dir);
    return st.blocks > 0 ? { totalBytes: st.blocks * st.bsize, freeBytes: st.bavail * st.bsize, freePercent: (100 * st.bavail) / st.blocks } : null;
  } catch {
    return null;
  }
}
