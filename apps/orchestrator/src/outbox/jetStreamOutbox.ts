/**
 * Outbox → JetStream without a dual write: the log is the outbox. A catch-up subscription of its own (with its own
 * checkpoint) publishes every committed event with `Nats-Msg-Id` = event id, waiting for JetStream's ack before the
 * checkpoint moves. A crash between commit and publish (or between publish and checkpoint) means a republish on
 * restart, which JetStream's duplicate window drops: consumers see each event once.
 */
import { ensureJetStream, eventsStreamSpec, tandemContracts, type TandemEventType } from '@tandem/contracts';
import { subscribe, type RecordedEvent, type Subscription } from '@tandem/event-store';
import { headers as natsHeaders, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { prefixed } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';

export const OUTBOX_SUBSCRIPTION = 'orchestrator-outbox-jetstream';
export const POSITION_HEADER = 'Tandem-Global-Position';
export const TYPE_HEADER = 'Tandem-Event-Type';

export interface OutboxOptions {
  /** JetStream stream name (`TANDEM_EVENTS`). */
  stream: string;
  subjectPrefix: string;
  duplicateWindowMs: number;
  /** Subscription name, so several outboxes (tests) can share a database. */
  name?: string;
  pollIntervalMs?: number;
  /** Wait before restarting after NATS or the database failed. Default 1000 ms. */
  retryDelayMs?: number;
  log?: (message: string) => void;
}

/** What travels on NATS and what `tandem events tail` prints with `--json`. */
export interface PublishedEvent {
  id: string;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: Record<string, unknown>;
  recordedAt: string;
}

export const eventSubjectFor = (subjectPrefix: string, type: string): string => prefixed(subjectPrefix, tandemContracts.eventContract(type as TandemEventType).subject);
export const eventsStreamSubjects = (subjectPrefix: string): string[] => [prefixed(subjectPrefix, 'tandem.evt.>')];

/** Creates the stream, or brings its subjects and duplicate window to what the outbox needs. */
export const ensureEventsStream = (jsm: JetStreamManager, options: Pick<OutboxOptions, 'stream' | 'subjectPrefix' | 'duplicateWindowMs'>): Promise<void> =>
  ensureJetStream(jsm, eventsStreamSpec(options.stream, options.subjectPrefix, options.duplicateWindowMs));

export class JetStreamOutbox {
  private subscription?: Subscription;
  private stopped = true;
  private restartTimer?: NodeJS.Timeout;
  private readonly js: JetStreamClient;
  /** Publishes JetStream acknowledged as new / as duplicates (a republish after a restart). */
  readonly counts = { published: 0, duplicates: 0 };

  constructor(
    private readonly db: OrchestratorDatabase,
    private readonly nc: NatsConnection,
    private readonly options: OutboxOptions,
  ) {
    this.js = nc.jetstream();
  }

  get name(): string {
    return this.options.name ?? OUTBOX_SUBSCRIPTION;
  }

  /** Last position published and acknowledged. */
  get position(): number {
    return this.subscription?.position ?? 0;
  }

  async start(): Promise<void> {
    await ensureEventsStream(await this.nc.jetstreamManager(), this.options);
    this.stopped = false;
    this.run();
  }

  /** Resolves once everything committed before the call has been published. */
  async caughtUp(): Promise<void> {
    await this.subscription?.caughtUp;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.subscription?.stop();
  }

  private run(): void {
    const subscription = subscribe(this.db.store, {
      name: this.name,
      batchSize: 256,
      pollIntervalMs: this.options.pollIntervalMs ?? 50,
      handler: (event) => this.publish(event),
      onError: (error) => {
        if (this.stopped) return;
        (this.options.log ?? ((m) => console.error(m)))(`outbox: ${error instanceof Error ? error.message : String(error)}; retrying`);
        this.restartTimer = setTimeout(() => !this.stopped && this.run(), this.options.retryDelayMs ?? 1000);
      },
    });
    this.subscription = subscription;
  }

  private async publish(event: RecordedEvent): Promise<void> {
    const body: PublishedEvent = {
      id: event.id,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
      globalPosition: event.globalPosition,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: event.data,
      metadata: event.metadata,
      recordedAt: event.recordedAt.toISOString(),
    };
    const h = natsHeaders();
    h.set(POSITION_HEADER, String(event.globalPosition));
    h.set(TYPE_HEADER, event.type);
    const ack = await this.js.publish(eventSubjectFor(this.options.subjectPrefix, event.type), JSON.stringify(body), {
      msgID: event.id,
      expect: { streamName: this.options.stream },
      headers: h,
    });
    if (ack.duplicate) this.counts.duplicates++;
    else this.counts.published++;
  }
}
