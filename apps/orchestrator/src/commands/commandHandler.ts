/** What a use case is: validated payload + current guards in, a decision out (nothing, or events to append). */
import type { TandemCommandPayload, TandemCommandType, TandemEvent } from '@tandem/contracts';
import type { EventStore, ExpectedVersion } from '@tandem/event-store';
import type { GuardReader } from './guards';

export interface DecisionContext {
  /** Guards as committed now (no locks): for the checks that need no race protection. */
  readonly guards: GuardReader;
  readonly store: EventStore;
}

/** Runs after the append, inside its transaction: lock, re-check and update the guards. Throw to refuse. */
export interface GuardTransaction {
  /** Guards read on the command's own connection (so `FOR UPDATE` locks hold until commit). */
  readonly guards: GuardReader;
  /** Stream version after the append. */
  readonly streamVersion: number;
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  table(name: string): string;
}

export type Decision =
  /** Nothing to change (already in the requested state): success, nothing written. */
  | { kind: 'unchanged'; aggregateId: string }
  | {
      kind: 'append';
      aggregateId: string;
      streamId: string;
      expectedVersion: ExpectedVersion;
      events: TandemEvent[];
      enforce: (tx: GuardTransaction) => Promise<void>;
    };

export interface CommandHandler<T extends TandemCommandType = TandemCommandType> {
  readonly type: T;
  decide(payload: TandemCommandPayload<T>, ctx: DecisionContext): Promise<Decision>;
}

export const streamIdOf = (aggregate: 'site' | 'cluster' | 'node' | 'device', id: string): string => `${aggregate}-${id}`;

/** Defines a handler with its payload typed from the contracts. */
export const defineHandler = <T extends TandemCommandType>(type: T, decide: CommandHandler<T>['decide']): CommandHandler<T> => ({ type, decide });
