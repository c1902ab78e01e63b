/**
 * Per-LU exclusive locks on LBA ranges, so that COMPARE AND WRITE's read-compare-write is atomic
 * against every other writer of the same blocks on this node (WRITE, WRITE SAME, UNMAP, CAW).
 *
 * The uncontended path (what every WRITE takes) allocates nothing: holders live in typed arrays
 * indexed by a slot number, and acquiring is a scan of the few ranges in flight. Only a request
 * that must wait allocates its waiter. Waiters are served in arrival order: a request that
 * overlaps an earlier waiter queues behind it, so a stream of writes cannot starve a CAW.
 * A task holds at most one range at a time, so there is no lock ordering to get wrong.
 */

/**
 * What writers of a LU hold while they run. One node: an LbaRangeLock. A HA device: a cluster-wide lock whose
 * authority is one replica (libs/replication), so that writes to the same blocks through different nodes are
 * applied in the same order on every replica and COMPARE AND WRITE is atomic cluster-wide.
 */
export interface RangeLock {
  /** Takes [first, first + blocks) at once when possible, else −1 (then call acquire). */
  tryAcquire(first: number, blocks: number): number;
  acquire(first: number, blocks: number): Promise<number>;
  release(slot: number): void;
}

/** Ranges are [first, end) in logical blocks; the slot number is the handle given back to release. */
interface Waiter {
  first: number;
  end: number;
  resolve: (slot: number) => void;
}

const INITIAL_SLOTS = 64;

export class LbaRangeLock implements RangeLock {
  private firsts = new Float64Array(INITIAL_SLOTS);
  private ends = new Float64Array(INITIAL_SLOTS);
  /** Dense list of slots in use, and each slot's index in it (for O(1) removal). */
  private active = new Int32Array(INITIAL_SLOTS);
  private indexOf = new Int32Array(INITIAL_SLOTS);
  private activeCount = 0;
  /** Stack of free slots. */
  private freeSlots = new Int32Array(INITIAL_SLOTS);
  private freeCount = 0;
  private readonly waiters: Waiter[] = [];

  constructor() {
    for (let i = 0; i < INITIAL_SLOTS; i++) this.freeSlots[i] = INITIAL_SLOTS - 1 - i;
    this.freeCount = INITIAL_SLOTS;
  }

  /** Ranges held right now. */
  get held(): number {
    return this.activeCount;
  }

  /** Requests waiting for a range. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes [first, first + blocks) at once if nothing overlaps it (held or queued); else -1. */
  tryAcquire(first: number, blocks: number): number {
    const end = first + (blocks > 0 ? blocks : 1);
    if (this.waiters.length > 0 && this.overlapsWaiter(first, end, this.waiters.length)) return -1;
    if (this.overlapsHeld(first, end)) return -1;
    return this.take(first, end);
  }

  /** Takes [first, first + blocks), waiting for overlapping holders (and earlier overlapping waiters). */
  acquire(first: number, blocks: number): Promise<number> {
    const slot = this.tryAcquire(first, blocks);
    if (slot >= 0) return Promise.resolve(slot);
    const end = first + (blocks > 0 ? blocks : 1);
    return new Promise((resolve) => this.waiters.push({ first, end, resolve }));
  }

  /** Gives a range back and starts the waiters it was holding up. */
  release(slot: number): void {
    const at = this.indexOf[slot];
    const last = this.active[--this.activeCount];
    this.active[at] = last;
    this.indexOf[last] = at;
    this.freeSlots[this.freeCount++] = slot;
    if (this.waiters.length > 0) this.wakeWaiters();
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    for (let i = 0; i < waiters.length; ) {
      const w = waiters[i];
      if (this.overlapsHeld(w.first, w.end) || this.overlapsWaiter(w.first, w.end, i)) {
        i++;
        continue;
      }
      waiters.splice(i, 1);
      w.resolve(this.take(w.first, w.end));
    }
  }

  private overlapsHeld(first: number, end: number): boolean {
    const active = this.active;
    for (let i = 0; i < this.activeCount; i++) {
      const slot = active[i];
      if (first < this.ends[slot] && this.firsts[slot] < end) return true;
    }
    return false;
  }

  /** True when [first, end) overlaps one of the first `count` waiters. */
  private overlapsWaiter(first: number, end: number, count: number): boolean {
    for (let i = 0; i < count; i++) {
      const w = this.waiters[i];
      if (first < w.end && w.first < end) return true;
    }
    return false;
  }

  private take(first: number, end: number): number {
    if (this.freeCount === 0) this.growSlots();
    const slot = this.freeSlots[--this.freeCount];
    this.firsts[slot] = first;
    this.ends[slot] = end;
    this.active[this.activeCount] = slot;
    this.indexOf[slot] = this.activeCount++;
    return slot;
  }

  private growSlots(): void {
    const old = this.firsts.length;
    const size = old * 2;
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.firsts = grow(this.firsts, (n) => new Float64Array(n));
    this.ends = grow(this.ends, (n) => new Float64Array(n));
    this.active = grow(this.active, (n) => new Int32Array(n));
    this.indexOf = grow(this.indexOf, (n) => new Int32Array(n));
    this.freeSlots = grow(this.freeSlots, (n) => new Int32Array(n));
    for (let i = size - 1; i >= old; i--) this.freeSlots[this.freeCount++] = i;
  }
}
