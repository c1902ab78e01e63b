// Unit spec of the /proc/PID/stat sampler the benchmarks use (pure parsing and arithmetic; one live read of this process).
import { clockTicksPerSecond, cpuPerIo, parseProcStat, sampleCpu, sumTicks } from './procCpu';

// A line shaped like tgtd's, with utime 1234 and stime 567.
const TGTD = '4242 (tgtd) S 1 4242 4242 0 -1 4194560 1011 0 0 0 1234 567 0 0 20 0 3 0 12345 123456789 1024 18446744073709551615 1 1 0 0 0 0 0 4096 1536 0 0 0 17 1 0 0 0 0 0';

describe('parseProcStat', () => {
  it('reads utime and stime (fields 14 and 15)', () => {
    expect(parseProcStat(TGTD)).toEqual({ utime: 1234, stime: 567 });
  });

  it('counts fields after the last ")", so a command name with spaces and parentheses does not shift them', () => {
    const line = TGTD.replace('(tgtd)', '(node (tandem) serve)');
    expect(parseProcStat(line)).toEqual({ utime: 1234, stime: 567 });
  });

  it('refuses text that is not a stat line, by name', () => {
    expect(() => parseProcStat('hello world')).toThrow(/not a \/proc\/PID\/stat line/);
    expect(() => parseProcStat('1 (x) S 1 2 3')).toThrow(/field 14 is "\(missing\)"/);
    expect(() => parseProcStat(TGTD.replace(' 1234 ', ' 12x4 '))).toThrow(/field 14 is "12x4"/);
  });
});

describe('cpuPerIo', () => {
  it('turns the tick delta into CPU µs per I/O and I/Os per CPU-second', () => {
    // 150 ticks at 100 Hz = 1.5 CPU-s for 100,000 I/Os: 15 µs each, 66,667 per CPU-second.
    const r = cpuPerIo({ utime: 100, stime: 50 }, { utime: 200, stime: 100 }, 100_000, 100);
    expect(r.cpuSeconds).toBeCloseTo(1.5, 9);
    expect(r.cpuUsPerIo).toBeCloseTo(15, 9);
    expect(r.iopsPerCpuSecond).toBeCloseTo(66_666.67, 1);
  });

  it('says Infinity I/Os per CPU-second when no tick was counted, and refuses nonsense', () => {
    expect(cpuPerIo({ utime: 5, stime: 5 }, { utime: 5, stime: 5 }, 10, 100).iopsPerCpuSecond).toBe(Infinity);
    expect(() => cpuPerIo({ utime: 9, stime: 0 }, { utime: 5, stime: 0 }, 10, 100)).toThrow(/not the same process/);
    expect(() => cpuPerIo({ utime: 0, stime: 0 }, { utime: 1, stime: 0 }, 0, 100)).toThrow(/I\/O count/);
    expect(() => cpuPerIo({ utime: 0, stime: 0 }, { utime: 1, stime: 0 }, 1, 0)).toThrow(/ticks per second/);
  });

  it('sums the deltas of several rounds', () => {
    const [b, a] = sumTicks([
      [{ utime: 10, stime: 1 }, { utime: 20, stime: 3 }],
      [{ utime: 50, stime: 5 }, { utime: 55, stime: 9 }],
    ]);
    expect(a.utime - b.utime).toBe(15);
    expect(a.stime - b.stime).toBe(6);
  });
});

describe('sampleCpu (live)', () => {
  it('reads this process, and its count does not go backwards', () => {
    const first = sampleCpu(process.pid);
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    const second = sampleCpu(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(second.utime + second.stime).toBeGreaterThanOrEqual(first.utime + first.stime);
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
  });
});
