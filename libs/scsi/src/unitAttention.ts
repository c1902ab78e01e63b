/**
 * Unit attention conditions (SAM-5 5.14, SPC-4 5.14): per logical unit, one queue per I_T nexus.
 * A condition is reported once, as CHECK CONDITION on the next command of that nexus (or in the
 * data of REQUEST SENSE), and then cleared.
 */
import { Asc } from './sense';

/** More than this many distinct pending conditions is pointless; older ones are dropped. */
const MAX_PENDING = 8;

function isResetCondition(code: number): boolean {
  return code >> 8 === 0x29;
}

export class UnitAttentions {
  private readonly queues = new Map<string, number[]>();
  /** Total conditions pending over every nexus, so the hot path skips the map when it is 0. */
  private pendingCount = 0;

  /** Starts tracking a nexus (no condition); idempotent. */
  track(nexusId: string): void {
    if (!this.queues.has(nexusId)) this.queues.set(nexusId, []);
  }

  isTracked(nexusId: string): boolean {
    return this.queues.has(nexusId);
  }

  forget(nexusId: string): void {
    const queue = this.queues.get(nexusId);
    if (queue === undefined) return;
    this.pendingCount -= queue.length;
    this.queues.delete(nexusId);
  }

  /** Establishes a condition for one nexus. A reset supersedes everything queued before it. */
  raise(nexusId: string, code: Asc): void {
    let queue = this.queues.get(nexusId);
    if (queue === undefined) {
      queue = [];
      this.queues.set(nexusId, queue);
    }
    if (isResetCondition(code)) {
      this.pendingCount -= queue.length;
      queue.length = 0;
    } else if (queue.includes(code)) {
      return;
    }
    if (queue.length >= MAX_PENDING) {
      queue.splice(1, 1); // keep the oldest (often a reset) and the newest
      this.pendingCount--;
    }
    queue.push(code);
    this.pendingCount++;
  }

  /** Establishes a condition for every tracked nexus except `exceptNexusId`. */
  raiseAll(code: Asc, exceptNexusId?: string): void {
    for (const nexusId of this.queues.keys()) {
      if (nexusId !== exceptNexusId) this.raise(nexusId, code);
    }
  }

  /** Drops one kind of condition from a nexus's queue (e.g. REPORT LUNS clears LUNS DATA HAS CHANGED). */
  clear(nexusId: string, code: Asc): void {
    const queue = this.queues.get(nexusId);
    if (queue === undefined) return;
    const at = queue.indexOf(code);
    if (at < 0) return;
    queue.splice(at, 1);
    this.pendingCount--;
  }

  /** The oldest pending condition of a nexus, removed from its queue; -1 when there is none. */
  take(nexusId: string): number {
    if (this.pendingCount === 0) return -1;
    const queue = this.queues.get(nexusId);
    if (queue === undefined || queue.length === 0) return -1;
    this.pendingCount--;
    return queue.shift()!;
  }

  /** Pending conditions of a nexus, oldest first (for tests and diagnostics). */
  pending(nexusId: string): readonly number[] {
    return this.queues.get(nexusId) ?? [];
  }

  nexusIds(): IterableIterator<string> {
    return this.queues.keys();
  }
}
