/**
 * Dirty bitmap region activity: writes in flight and cleaning candidates per activity unit, in an open-addressing
 * hash table (linear probing, backward-shift deletion) in typed arrays. Sized by the working set, not the device,
 * and allocation-free except when it grows.
 */

/** The key of an empty slot. */
export const EMPTY = 0xffff_ffff;
// Bound once: global lookups are slow inside vm contexts (jest), and this runs per unit on the data path.
const imul = Math.imul;

/** Per activity unit: how many writes are in flight there, and whether/when it became a cleaning candidate. */
export class RegionActivity {
  keys!: Uint32Array;
  inflight!: Uint32Array;
  candidate!: Uint8Array;
  lastEndMs!: Float64Array;
  capacity = 0;
  private size = 0;
  private shift = 0;
  private mask = 0;

  constructor() {
    this.allocate(10);
  }

  find(region: number): number {
    const keys = this.keys;
    for (let i = this.home(region); ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === region) return i;
      if (k === EMPTY) return -1;
    }
  }

  /** The slot of `region`, added (nothing in flight, not a candidate) when absent. */
  insert(region: number): number {
    const keys = this.keys;
    let i = this.home(region);
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === region) return i;
      if (k === EMPTY) break;
    }
    if ((this.size + 1) * 2 > this.capacity) {
      this.rehash();
      return this.insert(region);
    }
    keys[i] = region;
    this.inflight[i] = 0;
    this.candidate[i] = 0;
    this.lastEndMs[i] = 0;
    this.size++;
    return i;
  }

  removeAt(hole: number): void {
    const { keys, mask } = this;
    let i = hole;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(keys[j]);
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      keys[i] = keys[j];
      this.inflight[i] = this.inflight[j];
      this.candidate[i] = this.candidate[j];
      this.lastEndMs[i] = this.lastEndMs[j];
      i = j;
    }
    keys[i] = EMPTY;
    this.size--;
  }

  /** No unit is a cleaning candidate any more; units with nothing in flight are dropped. */
  dropCandidates(): void {
    for (let i = 0; i < this.capacity; ) {
      if (this.keys[i] !== EMPTY && this.candidate[i] !== 0) {
        this.candidate[i] = 0;
        if (this.inflight[i] === 0) {
          this.removeAt(i);
          continue;
        }
      }
      i++;
    }
  }

  private home(region: number): number {
    return imul(region, 0x9e3779b1) >>> this.shift;
  }

  private allocate(log2: number): void {
    this.capacity = 1 << log2;
    this.mask = this.capacity - 1;
    this.shift = 32 - log2;
    this.keys = new Uint32Array(this.capacity).fill(EMPTY);
    this.inflight = new Uint32Array(this.capacity);
    this.candidate = new Uint8Array(this.capacity);
    this.lastEndMs = new Float64Array(this.capacity);
    this.size = 0;
  }

  private rehash(): void {
    const { keys, inflight, candidate, lastEndMs, capacity } = this;
    this.allocate(32 - this.shift + 1);
    for (let j = 0; j < capacity; j++) {
      if (keys[j] === EMPTY) continue;
      const i = this.insert(keys[j]);
      this.inflight[i] = inflight[j];
      this.candidate[i] = candidate[j];
      this.lastEndMs[i] = lastEndMs[j];
    }
  }
}
