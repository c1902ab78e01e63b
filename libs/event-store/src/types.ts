/**
 * Global positions are JS numbers: Postgres `bigint`, exact in JS up to 2^53 − 1 (at 50,000 events/s that is
 * 5,700 years of events), cheaper and easier to compare than `bigint` or strings. The store refuses to read a
 * position beyond that rather than round it. GraphQL and JSON expose them as decimal strings when they must.
 */
export type GlobalPosition = number;

/** Who and what caused an event. Unknown keys are stored too. */
export interface EventMetadata {
  /** Ties together everything one request caused. */
  correlationId?: string;
  /** Id of the command or event that directly caused this one. */
  causationId?: string;
  /** `user:<name>`, `node:<id>`, `system:<component>`. */
  actor?: string;
  [key: string]: unknown;
}

/** An event to append. `id` makes the append idempotent: give the same id on a retry. */
export interface NewEvent<TData = unknown> {
  /** UUID; generated when absent (then a retry cannot be recognised). */
  id?: string;
  type: string;
  /** Schema version of `data`; 1 when absent. */
  schemaVersion?: number;
  data: TData;
  metadata?: EventMetadata;
}

export interface RecordedEvent<TData = unknown> {
  id: string;
  streamId: string;
  /** 1 for a stream's first event. */
  streamVersion: number;
  globalPosition: GlobalPosition;
  type: string;
  /** The newest schema version: older stored versions are upcast on read. */
  schemaVersion: number;
  data: TData;
  metadata: EventMetadata;
  recordedAt: Date;
}

/**
 * What the writer believes about the stream: `any` (no check), `no-stream`, `stream-exists`, or its exact
 * current version (the number of events in it; 0 means empty, like `no-stream`).
 */
export type ExpectedVersion = 'any' | 'no-stream' | 'stream-exists' | number;
