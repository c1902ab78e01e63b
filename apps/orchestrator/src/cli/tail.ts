/**
 * `tandem events tail [--from POSITION] [--type T] [--json]`: follows the JetStream events stream as a monitoring
 * subscriber would, through a durable consumer (so a restarted tail resumes where it acknowledged).
 */
import { createHash } from 'crypto';
import { tandemContracts } from '@tandem/contracts';
import { AckPolicy, connect, DeliverPolicy } from 'nats';
import { settingsFromEnv } from '../config';
import { eventSubjectFor, eventsStreamSubjects, POSITION_HEADER, type PublishedEvent } from '../outbox/jetStreamOutbox';

export interface TailOptions {
  natsUrl?: string;
  stream?: string;
  subjectPrefix?: string;
  /** Durable consumer name; default derived from the filters, so the same command line resumes. */
  durable?: string;
  /** Skip events before this global position. */
  from?: number;
  /** Only this event type (e.g. DeviceCreated). */
  type?: string;
  json?: boolean;
  /** Stop after this many events (default: follow until `signal` aborts). */
  limit?: number;
  signal?: AbortSignal;
  write?: (line: string) => void;
}

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
  const durable = options.durable ?? `tandem-tail-${createHash('sha256').update(`${filterSubject}|${options.from ?? 0}`).digest('hex').slice(0, 12)}`;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const nc = await connect({ servers: options.natsUrl ?? defaults.natsUrl, name: 'tandem-events-tail', timeout: 3000 });
  let count = 0;
  try {
    const jsm = await nc.jetstreamManager();
    const existing = await jsm.consumers.info(stream, durable).catch(() => undefined);
    if (!existing) {
      await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: filterSubject });
    }
    const consumer = await nc.jetstream().consumers.get(stream, durable);
    // One message per pull: nothing is left delivered-but-unacknowledged when the tail stops, so the next tail on
    // this durable resumes at once instead of waiting for the ack timeout.
    while (!options.signal?.aborted && (options.limit === undefined || count < options.limit)) {
      const m = await consumer.next({ expires: 1000 });
      if (!m) continue;
      const position = Number(m.headers?.get(POSITION_HEADER) ?? '0');
      if (options.from === undefined || position >= options.from) {
        write(formatEvent(m.json<PublishedEvent>(), options.json ?? false));
        count++;
      }
      // Confirmed before going on, so a restarted tail resumes right after this one.
      await m.ackAck();
    }
    return count;
  } finally {
    // flush (acks are on the wire), then close: a drain would wait for the open pull request to expire.
    await nc.flush().catch(() => undefined);
    await nc.close().catch(() => undefined);
  }
}
