/**
 * Appends what the orchestrator observes (liveness changes, alerts raised and cleared) to streams of their own, as
 * a state machine per stream: the event is written only if the stream's last event is not already of that type,
 * with the stream version checked and the event id derived from it. A restart, a replay or a second orchestrator
 * can therefore never write the same transition twice.
 */
import type { TandemEventData, TandemEventType } from '@tandem/contracts';
import { appendToStream, readStream, WrongExpectedVersion, type GlobalPosition } from '@tandem/event-store';
import { derivedId } from '../commands/commandBus';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';

export interface Transition<T extends TandemEventType> {
  streamId: string;
  type: T;
  /** Event types after which this transition is due (e.g. AlertRaised is due on an empty stream or after AlertCleared). */
  dueAfter: readonly (TandemEventType | null)[];
  /** The data, given the id this event will get (an alert's id is the id of the event that raised it). */
  data: (eventId: string, last: { type: string; data: unknown } | null) => TandemEventData<T>;
  component: string;
}

export type TransitionResult = { written: true; eventId: string; position: GlobalPosition } | { written: false; why: 'not-due' | 'lost-race' };

export async function appendTransition<T extends TandemEventType>(db: OrchestratorDatabase, t: Transition<T>): Promise<TransitionResult> {
  const { events, currentVersion } = await readStream(db.store, t.streamId, { direction: 'backward', maxCount: 1 });
  const last = events[0] ?? null;
  if (!t.dueAfter.includes((last?.type ?? null) as TandemEventType | null)) return { written: false, why: 'not-due' };
  const eventId = derivedId('tandem-observation', t.streamId, String(currentVersion + 1));
  try {
    const result = await appendToStream(
      db.store,
      t.streamId,
      [{ id: eventId, type: t.type, data: t.data(eventId, last), metadata: { actor: `system:${t.component}`, correlationId: eventId } }],
      { expectedVersion: currentVersion },
    );
    // Another writer appended this very transition (same derived id, same data) first: not ours.
    if (result.alreadyAppended) return { written: false, why: 'lost-race' };
    return { written: true, eventId, position: result.lastGlobalPosition };
  } catch (error) {
    if (error instanceof WrongExpectedVersion) return { written: false, why: 'lost-race' };
    throw error;
  }
}
