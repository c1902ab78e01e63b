import type { ExpectedVersion } from './types';

/** Append refused because the stream is not where the writer expected it; nothing was written. */
export class WrongExpectedVersion extends Error {
  override readonly name = 'WrongExpectedVersion';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    /** Current version; 0 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected version ${expected}, actual ${actual === 0 ? '0 (no stream)' : actual}`);
  }
}

/** An event id that is already stored with different content (or in another stream/position); nothing was written. */
export class DuplicateEventId extends Error {
  override readonly name = 'DuplicateEventId';
  constructor(
    readonly eventIds: readonly string[],
    reason: string,
  ) {
    super(`event id${eventIds.length === 1 ? '' : 's'} ${eventIds.join(', ')} already stored: ${reason}`);
  }
}

/** A stored event whose data the store cannot bring to the newest schema version (missing upcaster, bad data). */
export class UpcastFailed extends Error {
  override readonly name = 'UpcastFailed';
  constructor(
    readonly type: string,
    readonly schemaVersion: number,
    cause: unknown,
  ) {
    super(`cannot upcast ${type} v${schemaVersion}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
