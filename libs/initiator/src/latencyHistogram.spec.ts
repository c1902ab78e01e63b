import { LatencyHistogram } from './latencyHistogram';

describe('LatencyHistogram', () => {
  it('gives percentiles within its bucket precision', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 100000; v++) h.record(v);
    expect(h.count).toBe(100000);
    expect(h.min).toBe(1);
    expect(h.max).toBe(100000);
    expect(h.mean).toBeCloseTo(50000.5, 3);
    for (const [p, exact] of [[50, 50000], [99, 99000], [99.9, 99900], [100, 100000]]) {
      expect(Math.abs(h.percentile(p) - exact) / exact).toBeLessThan(0.02);
    }
    expect(h.percentile(0)).toBe(1);
  });

  it('is exact below 128 and clamps to what it saw', () => {
    const h = new LatencyHistogram();
    [5, 5, 7, 100].forEach((v) => h.record(v));
    expect(h.percentile(50)).toBe(5);
    expect(h.percentile(75)).toBe(7);
    expect(h.percentile(100)).toBe(100);
    h.record(3e9); // past the top bucket: still counted
    expect(h.percentile(100)).toBe(3e9);
  });

  it('merges and resets', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.record(10);
    b.record(1000);
    a.merge(b);
    expect([a.count, a.min, a.max]).toEqual([2, 10, 1000]);
    a.reset();
    expect([a.count, a.percentile(50), a.mean]).toEqual([0, 0, 0]);
  });
});
