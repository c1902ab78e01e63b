/**
 * Node agents → event log: a durable JetStream consumer on the reports stream that records each report as an event
 * of the node's stream (`agent-<nodeId>`), then acknowledges it. One report in flight at a time (max_ack_pending 1),
 * so a node's reports are recorded in the order it made them; the event id is the report id, so a redelivery
 * (crash between append and ack, or the agent re-sending after an outage) records nothing twice.
 *
 * A report that breaks its contract (not JSON, bad fields, a node speaking on another node's subject) is logged
 * and terminated: nothing is written. A database failure leaves the report unacknowledged for a retry.
 */
import { AGENT_REPORTS_STREAM_SUBJECTS, ContractViolation, agentReportsStreamSpec, ensureJetStream } from '@tandem/contracts';
import { appendToStream, DuplicateEventId } from '@tandem/event-store';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import { prefixed } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { eventForReport, parseReportMessage } from './reportEvents';

export const REPORTS_CONSUMER = 'orchestrator-agent-reports';

export interface AgentReportsConsumerOptions {
  stream: string;
  subjectPrefix: string;
  /** Durable consumer name, so several orchestrators' tests can share a server. */
  name?: string;
  retryDelayMs?: number;
  log?: (level: 'log' | 'warn' | 'error', message: string) => void;
}

export class AgentReportsConsumer {
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private stopped = true;
  private restartTimer?: NodeJS.Timeout;
  /** Reports recorded as events / already recorded (redeliveries) / refused as malformed. */
  readonly counts = { recorded: 0, duplicates: 0, refused: 0 };

  constructor(
    private readonly db: OrchestratorDatabase,
    private readonly nc: NatsConnection,
    private readonly options: AgentReportsConsumerOptions,
  ) {}

  get name(): string {
    return this.options.name ?? REPORTS_CONSUMER;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.messages?.close().catch(() => undefined);
    await this.loop;
  }

  private log(level: 'log' | 'warn' | 'error', message: string): void {
    (this.options.log ?? ((l, m) => (l === 'error' ? console.error(m) : l === 'warn' ? console.warn(m) : undefined)))(level, `agent reports: ${message}`);
  }

  private async open(): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    await ensureJetStream(jsm, agentReportsStreamSpec(this.options.stream, this.options.subjectPrefix));
    const config = {
      durable_name: this.name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: prefixed(this.options.subjectPrefix, AGENT_REPORTS_STREAM_SUBJECTS[0]),
      max_ack_pending: 1,
      ack_wait: 30_000_000_000,
    };
    const existing = await jsm.consumers.info(this.options.stream, this.name).catch(() => undefined);
    if (!existing) await jsm.consumers.add(this.options.stream, config);
    const consumer = await this.nc.jetstream().consumers.get(this.options.stream, this.name);
    this.messages = await consumer.consume({ max_messages: 16 });
    const messages = this.messages;
    this.loop = (async () => {
      for await (const msg of messages) await this.handle(msg);
    })()
      .catch((error) => this.log('error', `consumer failed: ${(error as Error).message}`))
      .finally(() => {
        if (!this.stopped) this.restartLater();
      });
  }

  private restartLater(): void {
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.open().catch((error) => {
        this.log('warn', `cannot reopen (${(error as Error).message}); retrying`);
        this.restartLater();
      });
    }, this.options.retryDelayMs ?? 1000);
  }

  private async handle(msg: JsMsg): Promise<void> {
    let parsed: ReturnType<typeof parseReportMessage>;
    try {
      parsed = parseReportMessage(msg.subject, this.options.subjectPrefix, msg.data);
    } catch (error) {
      this.counts.refused++;
      this.log('error', `refused (nothing recorded): ${(error as Error).message}`);
      msg.term();
      return;
    }
    try {
      const result = await appendToStream(this.db.store, parsed.streamId, [eventForReport(parsed.report)]);
      if (result.alreadyAppended) this.counts.duplicates++;
      else this.counts.recorded++;
      await msg.ackAck().catch(() => undefined);
    } catch (error) {
      if (error instanceof DuplicateEventId || error instanceof ContractViolation) {
        // The id is taken by a different event, or the data breaks the event's contract: never retryable.
        this.counts.refused++;
        this.log('error', `refused report ${parsed.report.reportId} from node ${parsed.report.nodeId}: ${(error as Error).message}`);
        msg.term();
        return;
      }
      this.log('warn', `cannot record report ${parsed.report.reportId} yet (${(error as Error).message}); retrying`);
      msg.nak(this.options.retryDelayMs ?? 1000);
    }
  }
}
