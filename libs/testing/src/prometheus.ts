// Fetching and parsing a Prometheus /metrics page in tests (parse-prometheus-text-format, prom2json's shape).
import * as http from 'http';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}
export interface HistogramSample {
  labels: Record<string, string>;
  /** Cumulative counts by upper bound ("+Inf" included). */
  buckets: Record<string, number>;
  count: number;
  sum: number;
}
export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
  histograms: HistogramSample[];
}

interface RawFamily {
  name: string;
  type: string;
}
// An independent check of the exposition's syntax and family types. (It loses the labels of labelled histograms, so
// the samples themselves are read by parseSamples below.) The package ships no typings.
const parseText = require('parse-prometheus-text-format') as (text: string) => RawFamily[];

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** Every family of a text exposition (format 0.0.4), by name; values as numbers; histogram series grouped by labels. */
export function parsePrometheus(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const f of parseText(text)) out.set(f.name, { name: f.name, type: f.type.toLowerCase(), help: '', samples: [], histograms: [] });
  const pending = new Map<string, HistogramSample>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [, name, ...help] = line.split(' ').slice(1);
      const family = out.get(name);
      if (family) family.help = help.join(' ');
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText, valueText] = m;
    const labels = labelText ? parseLabels(labelText, line) : {};
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const histogramFamily = base !== name ? out.get(base) : undefined;
    if (histogramFamily?.type === 'histogram') {
      const { le, ...series } = labels;
      const key = `${base}${JSON.stringify(Object.entries(series).sort())}`;
      let h = pending.get(key);
      if (!h) {
        h = { labels: series, buckets: {}, count: NaN, sum: NaN };
        pending.set(key, h);
        histogramFamily.histograms.push(h);
      }
      if (name.endsWith('_bucket')) h.buckets[le] = value;
      else if (name.endsWith('_sum')) h.sum = value;
      else h.count = value;
      continue;
    }
    const family = out.get(name);
    if (!family) throw new Error(`sample of an undeclared family: ${line}`);
    family.samples.push({ labels, value });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels` (undefined: none). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit?.value;
}

export function histogram(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): HistogramSample | undefined {
  return families.get(name)?.histograms.find((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v));
}

/** Buckets never decrease with the bound, and +Inf is the count. */
export function histogramIsConsistent(h: HistogramSample): boolean {
  const finite = Object.entries(h.buckets).filter(([le]) => le !== '+Inf').sort(([a], [b]) => Number(a) - Number(b));
  let previous = 0;
  for (const [, v] of finite) {
    if (v < previous) return false;
    previous = v;
  }
  return h.buckets['+Inf'] === h.count && previous <= h.count;
}

export function httpGet(url: string): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: String(res.headers['content-type'] ?? '') }));
      })
      .on('error', reject);
  });
}
