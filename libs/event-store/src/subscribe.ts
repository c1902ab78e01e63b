/**
 * Catch-up subscription: resumes after its stored checkpoint, reads the log a page at a time, hands each event to
 * the handler in global order, stores the checkpoint after each page, then polls for new events.
 *
 * Delivery is at-least-once: after a crash, the events of the page in flight are delivered again, so handlers
 * must be idempotent (upsert by id, or compare the event's global position with what they last applied, or
 * write their effects and the checkpoint in one transaction via `storeCheckpoint(..., runner)`).
 * Run one instance per subscription name: two would both deliver every event.
 */
import { readCheckpoint, storeCheckpoint } from './checkpoints';
import type { EventStore } from './eventStore';
import { readAll } from './readAll';
import type { GlobalPosition, RecordedEvent } from './types';

export interface SubscribeOptions<T = unknown> {
  /** Key of the stored checkpoint. */
  name: string;
  handler: (event: RecordedEvent<T>) => Promise<void> | void;
  /** Events per read. Default 500. */
  batchSize?: number;
  /** Wait between reads once caught up. Default 100 ms. */
  pollIntervalMs?: number;
  /** Only these event types (checkpoints still move over all of them). */
  types?: readonly string[];
  /** Called when the handler or the database fails; the subscription has stopped. Default: log to stderr. */
  onError?: (error: unknown) => void;
}

export interface Subscription {
  readonly name: string;
  /** Last position handled (and, at the end of each page, stored). */
  readonly position: GlobalPosition;
  /** Resolves the first time the subscription has nothing left to read. */
  readonly caughtUp: Promise<void>;
  /** Resolves when the loop has ended, after a stop or a failure (rejects with the failure). */
  readonly done: Promise<void>;
  /** Finishes the event in hand, stores the checkpoint, and ends. */
  stop(): Promise<void>;
}

export function subscribe<T = unknown>(store: EventStore, options: SubscribeOptions<T>): Subscription {
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  let position = 0;
  let stopping = false;
  let wake: (() => void) | undefined;
  let markCaughtUp: () => void = () => undefined;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));

  const run = async (): Promise<void> => {
    position = await readCheckpoint(store, options.name);
    let stored = position;
    try {
      while (!stopping) {
        const page = await readAll<T>(store, { after: position, limit: batchSize, types: options.types });
        for (const event of page.events) {
          if (stopping) break;
          await options.handler(event);
          position = event.globalPosition;
        }
        if (position !== stored) {
          await storeCheckpoint(store, options.name, position);
          stored = position;
        }
        if (page.isEnd) {
          markCaughtUp();
          if (!stopping) await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollIntervalMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      }
    } finally {
      // Keep what was handled before a failure, so a restart resumes right after it.
      if (position !== stored) await storeCheckpoint(store, options.name, position).catch(() => undefined);
    }
  };

  const done = run();
  done.catch((error) => (options.onError ?? ((e) => console.error(`subscription ${options.name} stopped:`, e)))(error));
  return {
    name: options.name,
    get position() {
      return position;
    },
    caughtUp,
    done,
    async stop() {
      stopping = true;
      wake?.();
      await done.catch(() => undefined);
    },
  };
}
