/** `events` (paged over the event store), and live `events` / `deviceChanged` / `storageNodeChanged` subscriptions fed from JetStream. */
import { Inject } from '@nestjs/common';
import { Args, ID, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import { tandemContracts, type TandemEventType } from '@tandem/contracts';
import { readAll, type RecordedEvent } from '@tandem/event-store';
import type { PublishedEvent } from '@tandem/orchestrator';
import { gatewayError } from '../errors';
import { toDevice, toNode } from '../fleet/fleet.models';
import { FleetReader } from '../fleet/fleetReader';
import { deviceIdOf } from './deviceEvents';
import { DeviceChange, Event, EventConnection, StorageNodeChange } from './event.models';
import { EventFeed } from './eventFeed';

export const MAX_PAGE_SIZE = 500;

const toEvent = (e: RecordedEvent | PublishedEvent): Event => ({ ...e, recordedAt: new Date(e.recordedAt) });

function assertEventType(type: string | undefined | null): void {
  if (type && !tandemContracts.isEventType(type)) {
    throw gatewayError('BAD_USER_INPUT', `type: unknown event type ${JSON.stringify(type)} (known: ${tandemContracts.eventTypes().join(', ')})`);
  }
}

/** Async iterator that maps each item (awaiting), keeping `return` so ending the subscription stops the source. */
function mapIterator<T, U>(source: AsyncIterableIterator<T>, map: (item: T) => Promise<U>): AsyncIterableIterator<U> {
  const iterator: AsyncIterableIterator<U> = {
    async next() {
      const item = await source.next();
      return item.done ? { done: true, value: undefined } : { done: false, value: await map(item.value) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

@Resolver(() => Event)
export class EventsResolver {
  constructor(
    @Inject(FleetReader) private readonly fleet: FleetReader,
    @Inject(EventFeed) private readonly feed: EventFeed,
  ) {}

  @Query(() => EventConnection, { name: 'events', description: 'The log in position order, paged forward (Relay style): pass `pageInfo.endCursor` as `after`.' })
  async eventsPage(
    @Args('first', { type: () => Int, defaultValue: 50, description: `At most ${MAX_PAGE_SIZE}.` }) first: number,
    @Args('after', { type: () => String, nullable: true, description: 'A cursor (global position); the page starts after it.' }) after?: string | null,
    @Args('type', { type: () => String, nullable: true }) type?: string | null,
    @Args('streamId', { type: () => String, nullable: true, description: 'e.g. `device-<uuid>`.' }) streamId?: string | null,
  ): Promise<EventConnection> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw gatewayError('BAD_USER_INPUT', `first: must be between 1 and ${MAX_PAGE_SIZE}`);
    let position = 0;
    if (after !== undefined && after !== null) {
      position = /^\d{1,16}$/.test(after) ? Number(after) : NaN;
      if (!Number.isSafeInteger(position)) throw gatewayError('BAD_USER_INPUT', `after: ${JSON.stringify(after)} is not a cursor from this API`);
    }
    assertEventType(type);
    const page = await readAll(this.fleet.db.store, { after: position, limit: first + 1, types: type ? [type] : undefined, streamId: streamId ?? undefined });
    const events = page.events.slice(0, first);
    const edges = events.map((e) => ({ cursor: String(e.globalPosition), node: toEvent(e) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: page.events.length > first,
        hasPreviousPage: false,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : (after ?? null),
      },
    };
  }

  @Subscription(() => Event, { name: 'events', resolve: (event: Event) => event, description: 'Events committed from now on, optionally of one type.' })
  async followEvents(@Args('type', { type: () => String, nullable: true }) type?: string | null): Promise<AsyncIterableIterator<Event>> {
    assertEventType(type);
    const subject = type ? tandemContracts.eventContract(type as TandemEventType).subject : 'tandem.evt.>';
    return mapIterator(await this.feed.follow(subject), async (e) => toEvent(e));
  }

  @Subscription(() => DeviceChange, {
    resolve: (change: DeviceChange) => change,
    description: "Events about devices from now on (one device, or all): the device's own, its replicas' reports and HA transitions (ReplicaExported, ResyncProgress, DeviceBlocked, …) and alerts raised or cleared about it.",
  })
  async deviceChanged(@Args('deviceId', { type: () => ID, nullable: true }) deviceId?: string | null): Promise<AsyncIterableIterator<DeviceChange>> {
    // Replica and alert events travel on their own subjects (tandem.evt.replica.*, tandem.evt.alert.*): one consumer
    // on every event keeps their order (one filter subject only: NATS 2.9), and deviceIdOf picks the device's.
    const source = await this.feed.follow('tandem.evt.>', (e) => {
      const id = deviceIdOf(e);
      return id !== undefined && (!deviceId || id === deviceId);
    });
    return mapIterator(source, async (e) => {
      const id = deviceIdOf(e)!;
      await this.fleet.waitForProjection(e.globalPosition);
      const row = await this.fleet.loaders({ cache: false }).device.load(id);
      return { deviceId: id, event: toEvent(e), device: row ? toDevice(row) : null };
    });
  }

  @Subscription(() => StorageNodeChange, { resolve: (change: StorageNodeChange) => change, description: 'Storage node events from now on (one node, or all).' })
  async storageNodeChanged(@Args('nodeId', { type: () => ID, nullable: true }) nodeId?: string | null): Promise<AsyncIterableIterator<StorageNodeChange>> {
    const source = await this.feed.follow('tandem.evt.node.>', (e) => !nodeId || (e.data as { nodeId?: string }).nodeId === nodeId);
    return mapIterator(source, async (e) => {
      const id = (e.data as { nodeId: string }).nodeId;
      await this.fleet.waitForProjection(e.globalPosition);
      const row = await this.fleet.loaders({ cache: false }).node.load(id);
      return { nodeId: id, event: toEvent(e), storageNode: row ? toNode(row) : null };
    });
  }
}
