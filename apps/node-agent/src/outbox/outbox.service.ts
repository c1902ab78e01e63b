/**
 * Nest side of the outbox: opens the file, records reports, and forwards them to JetStream in order, one at a
 * time, each with `Nats-Msg-Id` = report id (JetStream drops a re-send within its duplicate window), removing a
 * report only after JetStream acknowledged it. While NATS is away reports pile up; nothing on the data path waits.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { agentReportSubject, agentReportsStreamSpec, ensureJetStream, type AgentReport } from '@tandem/contracts';
import type { NatsConnection } from 'nats';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { NatsService } from '../nats/nats.service';
import { NodeIdentityService } from '../state/nodeIdentity.service';
import { FileOutbox, type NewReport } from './fileOutbox';

const RETRY_MS = 1000;

@Injectable()
export class OutboxService implements OnModuleInit, OnModuleDestroy {
  private outbox: FileOutbox | null = null;
  private forwarding: Promise<void> | null = null;
  private again = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private streamReady = false;
  private stopped = false;
  private readonly log = new Logger('Outbox');
  /** Reports JetStream acknowledged since start (for /metrics). */
  forwarded = 0;

  constructor(
    @Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings,
    private readonly identity: NodeIdentityService,
    private readonly nats: NatsService,
  ) {}

  async onModuleInit(): Promise<void> {
    this.outbox = await FileOutbox.open(this.settings.stateDir, this.identity.nodeId);
    if (this.outbox.pending().length > 0) this.log.log(`${this.outbox.pending().length} report(s) waiting to be delivered`);
    this.nats.onConnected(() => {
      this.streamReady = false;
      this.kick();
    });
  }

  pending(): readonly AgentReport[] {
    return this.outbox?.pending() ?? [];
  }

  /** Durable once resolved; delivery follows whenever NATS is there. */
  async record(report: NewReport): Promise<AgentReport> {
    if (!this.outbox) throw new Error('outbox not open');
    const recorded = await this.outbox.append(report);
    this.kick();
    return recorded;
  }

  /** Starts forwarding unless it is running (then it goes round once more). */
  kick(): void {
    if (this.stopped) return;
    if (this.forwarding) {
      this.again = true;
      return;
    }
    this.forwarding = this.forward().finally(() => {
      this.forwarding = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async forward(): Promise<void> {
    const nc = this.nats.connection;
    if (!nc || !this.nats.connectedNow || !this.outbox) return;
    try {
      if (!this.streamReady) {
        await ensureJetStream(await nc.jetstreamManager(), agentReportsStreamSpec(this.settings.reportsStream, this.settings.subjectPrefix));
        this.streamReady = true;
      }
      await this.publishPending(nc, this.outbox);
    } catch (err) {
      if (this.stopped) return;
      this.log.warn(`forwarding reports failed (${(err as Error).message}); retrying`);
      if (!this.retryTimer) this.retryTimer = setTimeout(() => ((this.retryTimer = null), this.kick()), RETRY_MS);
    }
  }

  private async publishPending(nc: NatsConnection, outbox: FileOutbox): Promise<void> {
    const js = nc.jetstream();
    for (;;) {
      const next = outbox.pending()[0];
      if (!next || this.stopped) return;
      const ack = await js.publish(this.nats.subject(agentReportSubject(next.nodeId)), JSON.stringify(next), {
        msgID: next.reportId,
        expect: { streamName: this.settings.reportsStream },
        timeout: 3000,
      });
      if (ack.stream !== this.settings.reportsStream) throw new Error(`acknowledged by stream ${ack.stream}, expected ${this.settings.reportsStream}`);
      await outbox.ack(next.sequence);
      this.forwarded++;
    }
  }

  /** Waits until the forwarder is idle (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.forwarding) await this.forwarding;
    await this.outbox?.flush();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.forwarding?.catch(() => undefined);
    await this.outbox?.flush();
  }
}
