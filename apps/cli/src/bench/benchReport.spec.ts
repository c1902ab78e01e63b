import { LatencyHistogram, PathStatus, WorkloadResult } from '@tandem/initiator';
import { benchOptionsFrom } from './benchOptions';
import { buildReport, formatReport, pathDeltas } from './benchReport';

const status = (index: number, commands: number, extra: Partial<PathStatus> = {}): PathStatus => ({
  index, url: `iscsi://127.0.0.1:326${index}/iqn.2026-11.io.tandem:mp/0`, state: 'up', access: 'active/optimized', usable: true,
  inFlight: 0, commands, bytesRead: commands * 4096, bytesWritten: 0, errors: 0, failovers: 0, reconnects: 0, ...extra,
});

describe('bench report', () => {
  it('counts per path only what the run did, and prints IOPS, MB/s, percentiles and shares', () => {
    const latency = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) latency.record(i);
    const result: WorkloadResult = { elapsedMs: 2000, ios: 1000, bytes: 4096000, errors: 0, latency, iops: 500, bandwidth: 2048000 };
    const options = benchOptionsFrom({ path: ['iscsi://127.0.0.1/iqn.2026-11.io.tandem:mp/0'], qd: '4' });
    const paths = pathDeltas([status(0, 3), status(1, 2)], [status(0, 603), status(1, 402, { errors: 1, failovers: 1, reconnects: 1, state: 'failed' })]);
    expect(paths.map((p) => [p.commands, p.errors, p.failovers, p.reconnects])).toEqual([[600, 0, 0, 0], [400, 1, 1, 1]]);
    const report = buildReport(options, result, paths);
    expect(report).toMatchObject({ iops: 500, mbPerSecond: 2.05, ios: 1000, seconds: 2, latencyUs: { p50: 502, p99: 988, p999: 1000, max: 1000 } }); // bucket middles, within 1.6 %
    const text = formatReport(report);
    expect(text).toContain('IOPS        500');
    expect(text).toContain('MB/s        2.05');
    expect(text).toMatch(/latency µs {2}p50 502 {2}p99 988 {2}p99\.9 1000/);
    expect(text).toMatch(/:3260\/iqn.2026-11.io.tandem:mp\/0 +up +active\/optimized +600 +60\.0%/);
    expect(text).toMatch(/:3261\/\S+ +failed +active\/optimized +400 +40\.0% +1 +1 +1/);
  });
});
