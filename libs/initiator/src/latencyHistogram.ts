/**
 * Latency histogram with log-linear buckets (HdrHistogram's layout, 64 sub-buckets per power of two: under 1.6 %
 * error): recording is a few integer operations into a preallocated array, so a benchmark can record every I/O.
 */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS; // 64
const LINEAR = 2 * SUB; // values below 128 get a bucket each
const MAX_SHIFT = 31 - SUB_BITS; // up to 2^31 units
const BUCKETS = LINEAR + MAX_SHIFT * SUB;
/** Where values at or past the top (2^31 - 1) land; its middle would understate them. */
const TOP_BUCKET = bucketOf(0x7fffffff);

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  /** Records one value (any unit, typically microseconds); negative values count as 0. */
  record(value: number): void {
    const v = value > 0 ? (value < 0x7fffffff ? Math.floor(value) : 0x7fffffff) : 0;
    this.counts[bucketOf(v)]++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** Adds another histogram's counts (e.g. per-worker histograms). */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** The value at percentile p (0-100): the middle of its bucket, clamped to the observed min and max. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return i === TOP_BUCKET ? this.max : Math.min(this.max, Math.max(this.min, bucketMiddle(i)));
    }
    return this.max;
  }
}

function bucketOf(v: number): number {
  if (v < LINEAR) return v;
  const shift = 31 - Math.clz32(v) - SUB_BITS; // ≥ 1
  return LINEAR + (shift - 1) * SUB + ((v >>> shift) - SUB);
}

function bucketMiddle(i: number): number {
  if (i < LINEAR) return i;
  const shift = Math.floor((i - LINEAR) / SUB) + 1;
  const mantissa = ((i - LINEAR) % SUB) + SUB;
  return mantissa * 2 ** shift + (2 ** shift - 1) / 2;
}
