/**
 * Live events for subscriptions: one ephemeral ordered JetStream consumer per subscription on the events stream,
 * filtered by subject server-side, starting with the next event published. Ending the subscription stops the
 * consumer at once (a plain async generator would wait for the next message before its `finally` ran).
 */
import { DeliverPolicy, type ConsumerMessages, type NatsConnection } from 'nats';
import { prefixed, type PublishedEvent } from '@tandem/orchestrator';

export class EventFeed {
  private active = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { stream: string; subjectPrefix: string },
  ) {}

  /** Subscriptions whose consumer is in place (events published from now on reach them). */
  get activeSubscriptions(): number {
    return this.active;
  }

  /** `subject` without the prefix, e.g. `tandem.evt.device.>`. Resolves once the consumer exists. */
  async follow(subject: string, accept: (event: PublishedEvent) => boolean = () => true): Promise<AsyncIterableIterator<PublishedEvent>> {
    const consumer = await this.nc.jetstream().consumers.get(this.options.stream, {
      // One subject as a string: a list needs NATS ≥ 2.10 (filter_subjects), and 2.9 servers hang on it.
      filterSubjects: prefixed(this.options.subjectPrefix, subject),
      deliver_policy: DeliverPolicy.New,
    });
    const messages: ConsumerMessages = await consumer.consume();
    this.active++;
    const source = messages[Symbol.asyncIterator]();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.active--;
      messages.stop();
    };
    const done = { done: true as const, value: undefined };
    const iterator: AsyncIterableIterator<PublishedEvent> = {
      async next(): Promise<IteratorResult<PublishedEvent>> {
        while (!ended) {
          const item = await source.next();
          if (item.done) break;
          const event = item.value.json<PublishedEvent>();
          if (accept(event)) return { done: false, value: event };
        }
        end();
        return done;
      },
      async return(): Promise<IteratorResult<PublishedEvent>> {
        end();
        return done;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
