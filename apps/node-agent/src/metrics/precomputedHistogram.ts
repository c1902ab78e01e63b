/**
 * A prom-client histogram whose buckets are counted elsewhere (a BucketHistogram the data path fills in place) and
 * copied at scrape time: prom-client's Histogram can only `observe`, which would put it on the hot path per I/O.
 */
import { Histogram } from 'prom-client';
import type { BucketHistogram } from '@tandem/replication';

export interface HistogramSource<L extends string> {
  labels: Record<L, string | number>;
  histogram: BucketHistogram;
}

type Rendered<L extends string> = Awaited<ReturnType<Histogram<L>['get']>>;
type Value<L extends string> = Rendered<L>['values'][number];

export class PrecomputedHistogram<L extends string> extends Histogram<L> {
  constructor(
    private readonly spec: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[] },
    private readonly sources: () => Iterable<HistogramSource<L>>,
  ) {
    // registers: [] keeps it out of prom-client's global registry; the caller registers it in its own.
    super({ name: spec.name, help: spec.help, labelNames: spec.labelNames, buckets: [...spec.buckets], registers: [] });
  }

  override async get(): Promise<Rendered<L>> {
    const values: Value<L>[] = [];
    const bucketName = `${this.spec.name}_bucket`;
    for (const { labels, histogram } of this.sources()) {
      const bounds = histogram.bounds;
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += histogram.counts[i];
        values.push({ metricName: bucketName, labels: { ...labels, le: bounds[i] } as Value<L>['labels'], value: cumulative });
      }
      values.push({ metricName: bucketName, labels: { ...labels, le: '+Inf' } as Value<L>['labels'], value: histogram.count });
      values.push({ metricName: `${this.spec.name}_sum`, labels, value: histogram.sum });
      values.push({ metricName: `${this.spec.name}_count`, labels, value: histogram.count });
    }
    // prom-client's typings declare `type` as a numeric enum; at run time (and in its own metrics) it is the string.
    return { name: this.spec.name, help: this.spec.help, type: 'histogram' as never, aggregator: 'sum', collect: () => undefined, values };
  }

  /** The registry's text rendering asks for this when it exists (prom-client ≥ 15). */
  getForPromString(): Promise<Rendered<L>> {
    return this.get();
  }
}
