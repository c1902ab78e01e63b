/**
 * A registry of the current contracts plus the older event versions still found in the log, each with the
 * upcaster that lifts it one version. Parsing validates at the boundary and always hands back the newest shape.
 */
import type { z } from 'zod';
import type { CommandContract, EventContract } from './contract';
import { ContractViolation } from './contractViolation';

/** An older version of an event and how to lift its (already validated) data to the next version. */
export interface LegacyEvent {
  readonly contract: EventContract;
  readonly upcast: (data: never) => unknown;
}

/** Shape the event store accepts for its upcaster chain (`upcaster(type, fromVersion, fn)`). */
export interface EventUpcaster {
  readonly type: string;
  readonly fromVersion: number;
  readonly upcast: (data: unknown) => unknown;
}

export type PayloadOf<TContract extends { schema: z.ZodTypeAny }> = z.output<TContract['schema']>;
export type EventPayloadOf<E extends EventContract, T extends E['type']> = PayloadOf<Extract<E, { type: T }>>;
export type CommandPayloadOf<C extends CommandContract, T extends C['type']> = PayloadOf<Extract<C, { type: T }>>;

/** A discriminated union `{ type, data }` of every current event, for handlers that switch on `type`. */
export type TypedEvent<E extends EventContract> = { [T in E['type']]: { type: T; data: EventPayloadOf<E, T> } }[E['type']];
export type TypedCommand<C extends CommandContract> = { [T in C['type']]: { type: T; payload: CommandPayloadOf<C, T> } }[C['type']];

export class ContractRegistry<E extends EventContract = EventContract, C extends CommandContract = CommandContract> {
  private readonly currentEvents = new Map<string, E>();
  private readonly legacy = new Map<string, LegacyEvent>();
  private readonly commands = new Map<string, C>();
  private readonly commandsBySubject = new Map<string, C>();

  constructor(options: { events: readonly E[]; commands: readonly C[]; legacyEvents?: readonly LegacyEvent[] }) {
    for (const contract of options.events) {
      if (this.currentEvents.has(contract.type)) throw new Error(`event ${contract.type} declared twice`);
      this.currentEvents.set(contract.type, contract);
    }
    for (const contract of options.commands) {
      if (this.commands.has(contract.type)) throw new Error(`command ${contract.type} declared twice`);
      if (this.commandsBySubject.has(contract.subject)) throw new Error(`commands ${this.commandsBySubject.get(contract.subject)?.type} and ${contract.type} share subject ${contract.subject}`);
      this.commands.set(contract.type, contract);
      this.commandsBySubject.set(contract.subject, contract);
    }
    for (const entry of options.legacyEvents ?? []) {
      const { type, schemaVersion } = entry.contract;
      const current = this.currentEvents.get(type);
      if (!current) throw new Error(`legacy ${type} v${schemaVersion} has no current contract`);
      if (schemaVersion >= current.schemaVersion) throw new Error(`legacy ${type} v${schemaVersion} is not older than current v${current.schemaVersion}`);
      const key = `${type}@${schemaVersion}`;
      if (this.legacy.has(key)) throw new Error(`legacy ${type} v${schemaVersion} declared twice`);
      this.legacy.set(key, entry);
    }
    // Every legacy version must reach the current one through consecutive upcasters.
    for (const entry of this.legacy.values()) {
      const { type } = entry.contract;
      const current = this.currentEvents.get(type) as E;
      for (let v = entry.contract.schemaVersion + 1; v < current.schemaVersion; v++) {
        if (!this.legacy.has(`${type}@${v}`)) throw new Error(`${type}: no contract for v${v}, so v${entry.contract.schemaVersion} cannot be upcast`);
      }
    }
  }

  eventTypes(): E['type'][] {
    return [...this.currentEvents.keys()];
  }

  commandTypes(): C['type'][] {
    return [...this.commands.keys()];
  }

  eventContract<T extends E['type']>(type: T): Extract<E, { type: T }> {
    const contract = this.currentEvents.get(type);
    if (!contract) throw new ContractViolation(`event ${type}`, [{ path: '(type)', message: `unknown event type ${JSON.stringify(type)}` }]);
    return contract as Extract<E, { type: T }>;
  }

  commandContract<T extends C['type']>(type: T): Extract<C, { type: T }> {
    const contract = this.commands.get(type);
    if (!contract) throw new ContractViolation(`command ${type}`, [{ path: '(type)', message: `unknown command type ${JSON.stringify(type)}` }]);
    return contract as Extract<C, { type: T }>;
  }

  /** The command a request on `subject` must carry, or `undefined` for a subject that is not a command. */
  commandForSubject(subject: string): C | undefined {
    return this.commandsBySubject.get(subject);
  }

  isEventType(type: string): type is E['type'] {
    return this.currentEvents.has(type);
  }

  isCommandType(type: string): type is C['type'] {
    return this.commands.has(type);
  }

  /**
   * Validates `data` as event `type` at `schemaVersion` and returns it in the newest schema version
   * (older versions are validated against their own schema, upcast step by step, then validated again).
   * Throws {@link ContractViolation} listing every problem.
   */
  parseEvent<T extends E['type']>(type: T, schemaVersion: number, data: unknown): EventPayloadOf<E, T> {
    const current = this.eventContract(type);
    const label = `event ${type} v${schemaVersion}`;
    if (schemaVersion === current.schemaVersion) return parseWith(label, current.schema, data);
    if (schemaVersion > current.schemaVersion) {
      throw new ContractViolation(label, [{ path: '(schemaVersion)', message: `unknown schema version ${schemaVersion}; newest known is ${current.schemaVersion}` }]);
    }
    let value: unknown = data;
    for (let v = schemaVersion; v < current.schemaVersion; v++) {
      const legacy = this.legacy.get(`${type}@${v}`);
      if (!legacy) throw new ContractViolation(label, [{ path: '(schemaVersion)', message: `schema version ${v} is no longer readable (no upcaster)` }]);
      value = legacy.upcast(parseWith(`event ${type} v${v}`, legacy.contract.schema, value) as never);
    }
    return parseWith(`event ${type} v${schemaVersion} upcast to v${current.schemaVersion}`, current.schema, value);
  }

  /** Like {@link parseEvent}, for any event type known only at run time (e.g. read back from the log). */
  parseAnyEvent(type: string, schemaVersion: number, data: unknown): TypedEvent<E> {
    return { type, data: this.parseEvent(type as E['type'], schemaVersion, data) } as TypedEvent<E>;
  }

  /** Commands are never stored, so only the current schema version is accepted. */
  parseCommand<T extends C['type']>(type: T, data: unknown, schemaVersion?: number): CommandPayloadOf<C, T> {
    const contract = this.commandContract(type);
    if (schemaVersion !== undefined && schemaVersion !== contract.schemaVersion) {
      throw new ContractViolation(`command ${type} v${schemaVersion}`, [{ path: '(schemaVersion)', message: `unsupported schema version ${schemaVersion}; this orchestrator speaks v${contract.schemaVersion}` }]);
    }
    return parseWith(`command ${type} v${contract.schemaVersion}`, contract.schema, data);
  }

  /** The upcaster chain in the shape the event store registers (`upcaster(type, fromVersion, fn)`). */
  upcasters(): EventUpcaster[] {
    return [...this.legacy.values()].map((entry) => ({
      type: entry.contract.type,
      fromVersion: entry.contract.schemaVersion,
      upcast: (data: unknown) => entry.upcast(parseWith(`event ${entry.contract.type} v${entry.contract.schemaVersion}`, entry.contract.schema, data) as never),
    }));
  }

  /** Newest schema version of each event type, for writers that stamp `schemaVersion`. */
  currentSchemaVersion(type: E['type']): number {
    return this.eventContract(type).schemaVersion;
  }
}

export function parseWith<S extends z.ZodTypeAny>(label: string, schema: S, data: unknown): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw ContractViolation.fromZodIssues(label, result.error.issues);
  return result.data;
}
