/**
 * A latency histogram the data path can feed: fixed upper bounds (seconds), a preallocated array of per-bucket
 * counts, a sum and a count. `observe` allocates nothing and calls nothing; readers (the node agent's /metrics)
 * copy the buckets at scrape time into Prometheus series.
 */

/** 50 µs .. 10 s: iSCSI commands on RAM cache or page cache take tens of µs, a stalled disk or partner seconds. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
]);

/** Sync-link round trips: 25 µs (loopback) .. 1 s; 5 ms is the SyncLatencyHigh line, so it is a bound. */
export const RTT_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1,
]);

export class BucketHistogram {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i-1] (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}
