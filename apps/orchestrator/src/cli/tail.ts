/**
 * `tandem events tail [--from POSITION] [--type T] [--json] [--durable NAME]`: follows the JetStream events stream
 * like `tail -f`: from now on by default, from a global position with `--from` (0: the whole history). The default
 * consumer is ordered and ephemeral: nothing is left on the server when the tail stops. `--durable NAME` resumes
 * where the last tail of that name acknowledged; such a consumer is removed by the server after a day unused.
 */
import { tandemContracts } from '@tandem/contracts';
import { AckPolicy, connect, DeliverPolicy } from 'nats';
import { settingsFromEnv } from '../config';
import { eventSubjectFor, eventsStreamSubjects, POSITION_HEADER, type PublishedEvent } from '../outbox/jetStreamOutbox';

export interface TailOptions {
  natsUrl?: string;
  stream?: string;
  subjectPrefix?: string;
  /** Resume through this durable consumer (created on first use, removed by the server after a day unused). */
  durable?: string;
  /** Start at this global position (history); default: only events published from now on. */
  from?: number;
  /** Only this event type (e.g. DeviceCreated). */
  type?: string;
  json?: boolean;
  /** Stop after this many events (default: follow until `signal` aborts). */
  limit?: number;
  signal?: AbortSignal;
  write?: (line: string) => void;
  /** Called once the consumer is in place: events published from then on will be seen. */
  onReady?: (description: string) => void;
}

const EPHEMERAL_INACTIVE_MS = 5000;
/** A durable consumer nobody has pulled from for this long is deleted by the server. */
const DURABLE_INACTIVE_NANOS = 24 * 3600 * 1e9;

export function formatEvent(event: PublishedEvent, json: boolean): string {
  if (json) return JSON.stringify(event);
  const actor = typeof event.metadata?.actor === 'string' ? event.metadata.actor : '-';
  return `${String(event.globalPosition).padStart(8)}  ${event.recordedAt}  ${event.type.padEnd(24)} ${event.streamId}  ${actor}  ${JSON.stringify(event.data)}`;
}

/** Resolves with the number of events written, once `limit` is reached or `signal` aborts. */
export async function tail(options: TailOptions = {}): Promise<number> {
  const defaults = settingsFromEnv();
  const stream = options.stream ?? defaults.eventsStream;
  const prefix = options.subjectPrefix ?? defaults.subjectPrefix;
  if (options.type !== undefined && !tandemContracts.isEventType(options.type)) {
    throw new Error(`--type ${options.type}: unknown event type (known: ${tandemContracts.eventTypes().join(', ')})`);
  }
  const filterSubject = options.type ? eventSubjectFor(prefix, options.type) : eventsStreamSubjects(prefix)[0];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const nc = await connect({ servers: options.natsUrl ?? defaults.natsUrl, name: 'tandem-events-tail', timeout: 3000 });
  let count = 0;
  let ephemeral: { delete(): Promise<boolean> } | undefined;
  try {
    const deliver_policy = options.from === undefined ? DeliverPolicy.New : DeliverPolicy.All;
    let durable = false;
    if (options.durable !== undefined) {
      const jsm = await nc.jetstreamManager();
      const existing = await jsm.consumers.info(stream, options.durable).catch(() => undefined);
      if (!existing) {
        await jsm.consumers.add(stream, { durable_name: options.durable, ack_policy: AckPolicy.Explicit, deliver_policy, filter_subject: filterSubject, inactive_threshold: DURABLE_INACTIVE_NANOS });
      }
      durable = true;
    }
    const consumer = durable
      ? await nc.jetstream().consumers.get(stream, options.durable)
      : await nc.jetstream().consumers.get(
          stream,
          // History by start sequence: an ordered consumer re-created after a gap resumes by sequence, which the server refuses with "deliver all".
          {
            filterSubjects: filterSubject,
            ...(options.from === undefined ? { deliver_policy } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 }),
            // Gone from the server seconds after the tail stops (it pulls every second while it runs).
            inactive_threshold: EPHEMERAL_INACTIVE_MS,
          },
        );
    if (!durable) ephemeral = consumer;
    const from = options.from === undefined ? 'from now on' : `from position ${options.from}`;
    options.onReady?.(`following ${stream} ${from}${options.type ? `, ${options.type} only` : ''}${durable ? ` (durable ${options.durable})` : ''}`);
    // One message per pull: nothing is left delivered-but-unacknowledged when the tail stops, so the next tail on
    // a durable resumes at once instead of waiting for the ack timeout.
    while (!options.signal?.aborted && (options.limit === undefined || count < options.limit)) {
      const m = await consumer.next({ expires: 1000 });
      if (!m) continue;
      const position = Number(m.headers?.get(POSITION_HEADER) ?? '0');
      if (options.from === undefined || position >= options.from) {
        write(formatEvent(m.json<PublishedEvent>(), options.json ?? false));
        count++;
      }
      // Confirmed before going on, so a restarted durable tail resumes right after this one.
      if (durable) await m.ackAck();
    }
    return count;
  } finally {
    // Nothing left on the server (a NATS 2.9 server keeps an idle ordered consumer for a while).
    await ephemeral?.delete().catch(() => undefined);
    // flush (acks are on the wire), then close: a drain would wait for the open pull request to expire.
    await nc.flush().catch(() => undefined);
    await nc.close().catch(() => undefined);
  }
}
