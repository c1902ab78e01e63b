// Specs of SyncRttWindow: the per-partner sync round-trip floor the admin socket's status reports.
import { RttSource, SyncRttWindow } from './syncRtt';
import { rttText } from './haCommand';

/** A channel whose floors are given in advance, one per takeRttFloor call (−1: no ping answered in that second). */
class ScriptedChannel implements RttSource {
  rttMicros = -1;
  calls = 0;
  constructor(private readonly floors: number[]) {}
  takeRttFloor(): number {
    return this.floors[this.calls++] ?? -1;
  }
}

describe('SyncRttWindow', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('reports the smallest floor sampled within the window, forgetting older samples', () => {
    const ch = new ScriptedChannel([90, 40, 70, 80]);
    const w = new SyncRttWindow(() => [ch], 3000, 1000, now);
    expect(w.floorMicros(ch)).toBeNull();
    for (let i = 0; i < 3; i++) {
      w.sample();
      clock += 1000;
    }
    expect(w.floorMicros(ch)).toBe(40); // samples 90, 40, 70 at t = 0, 1, 2 s; now t = 3 s: 90 expired
    clock += 1000; // t = 4 s: 40 (t = 1 s) expired
    expect(w.floorMicros(ch)).toBe(70);
    w.sample(); // 80 at t = 4 s
    clock += 3000;
    expect(w.floorMicros(ch)).toBeNull();
  });

  it('skips seconds without an answered ping and takes a channel shared by two devices once per sample', () => {
    const ch = new ScriptedChannel([-1, 55]);
    const w = new SyncRttWindow(() => [ch, ch], 10_000, 1000, now);
    w.sample();
    expect(ch.calls).toBe(1);
    expect(w.floorMicros(ch)).toBeNull();
    clock += 1000;
    w.sample();
    expect(ch.calls).toBe(2);
    expect(w.floorMicros(ch)).toBe(55);
  });

  it('samples on its own timer once started', async () => {
    const ch = new ScriptedChannel([33, 33, 33, 33, 33, 33, 33, 33, 33, 33]);
    const w = new SyncRttWindow(() => [ch], 1000, 20);
    w.start();
    try {
      const deadline = Date.now() + 10_000;
      while (w.floorMicros(ch) === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(w.floorMicros(ch)).toBe(33);
    } finally {
      w.stop();
    }
  });

  it('refuses a sample interval outside the window', () => {
    expect(() => new SyncRttWindow(() => [], 1000, 2000)).toThrow('must be positive, the interval within the window');
    expect(() => new SyncRttWindow(() => [], 0, 0)).toThrow('must be positive');
  });
});

describe('rttText (tandem ha status)', () => {
  it('prints the floor with the last ping, the last ping alone, or nothing', () => {
    expect(rttText({ rttFloorMicros: 41, rttMicros: 57, rttWindowSeconds: 10 })).toBe(', sync round trip 41 µs (floor over 10 s; last ping 57 µs)');
    expect(rttText({ rttFloorMicros: null, rttMicros: 57, rttWindowSeconds: 10 })).toBe(', sync round trip 57 µs (last ping)');
    expect(rttText({ rttFloorMicros: null, rttMicros: null, rttWindowSeconds: 10 })).toBe('');
  });
});
