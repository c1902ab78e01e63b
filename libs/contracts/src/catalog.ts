/** Every Tandem command and event, registered once. Add a new event version here and its upcaster in `legacyEvents`. */
import { clusterCommands, clusterEvents } from './cluster.contracts';
import { deviceCommands, deviceEvents } from './device.contracts';
import { healthEvents } from './health.contracts';
import { nodeCommands, nodeEvents } from './node.contracts';
import { ContractRegistry, type TypedCommand, type TypedEvent, type EventPayloadOf, type CommandPayloadOf } from './registry';
import { replicaEvents } from './replica.contracts';
import { siteCommands, siteEvents } from './site.contracts';

export const tandemEvents = [...siteEvents, ...clusterEvents, ...nodeEvents, ...deviceEvents, ...replicaEvents, ...healthEvents] as const;
export const tandemCommands = [...siteCommands, ...clusterCommands, ...nodeCommands, ...deviceCommands] as const;

type TandemEventContract = (typeof tandemEvents)[number];
type TandemCommandContract = (typeof tandemCommands)[number];

export type TandemEventType = TandemEventContract['type'];
export type TandemCommandType = TandemCommandContract['type'];
export type TandemEventData<T extends TandemEventType> = EventPayloadOf<TandemEventContract, T>;
export type TandemCommandPayload<T extends TandemCommandType> = CommandPayloadOf<TandemCommandContract, T>;
export type TandemEvent = TypedEvent<TandemEventContract>;
export type TandemCommand = TypedCommand<TandemCommandContract>;

export const tandemContracts = new ContractRegistry<TandemEventContract, TandemCommandContract>({
  events: tandemEvents,
  commands: tandemCommands,
  legacyEvents: [],
});

/** Validates a Tandem event at any known schema version and returns it in the newest one. */
export const parseEvent = <T extends TandemEventType>(type: T, schemaVersion: number, data: unknown) =>
  tandemContracts.parseEvent(type, schemaVersion, data);

export const parseCommand = <T extends TandemCommandType>(type: T, payload: unknown, schemaVersion?: number) =>
  tandemContracts.parseCommand(type, payload, schemaVersion);
