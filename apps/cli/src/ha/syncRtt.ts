/**
 * The recent round-trip floor of each HA partner's sync links, for the status `tandem serve --admin-socket` returns:
 * every second the smallest ping round trip of the second before (PartnerChannel.takeRttFloor: the slowest live
 * link's floor), kept for a window (10 s); the status reports the smallest kept. The floor rather than the last ping,
 * because scheduling on a busy host only ever adds to a ping's time.
 *
 * takeRttFloor starts a new window on each call, so one consumer per process may take it: in `tandem serve` that is
 * this (the node agent's telemetry takes it in the agent, which has no admin socket).
 */

/** What a partner's sync channel offers (PartnerChannel). */
export interface RttSource {
  /** The last ping's round trip over the best live link, µs; −1 when none measured. */
  readonly rttMicros: number;
  /** The slowest live link's smallest round trip since the last call, µs; −1 when none measured. */
  takeRttFloor(): number;
}

interface Sample {
  at: number;
  floorMicros: number;
}

export class SyncRttWindow {
  private readonly samples = new WeakMap<RttSource, Sample[]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** The channels to watch, asked at each sample (HA LUNs come and go while serving). */
    private readonly channels: () => Iterable<RttSource>,
    readonly windowMs = 10_000,
    readonly sampleEveryMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    if (!(windowMs > 0) || !(sampleEveryMs > 0) || sampleEveryMs > windowMs) {
      throw new Error(`SyncRttWindow: window ${windowMs} ms and sample interval ${sampleEveryMs} ms must be positive, the interval within the window`);
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), this.sampleEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes each channel's floor once (a channel shared by several devices counts once) and drops expired samples. */
  sample(): void {
    const at = this.now();
    for (const channel of new Set(this.channels())) {
      const floorMicros = channel.takeRttFloor();
      let kept = this.samples.get(channel);
      if (!kept) this.samples.set(channel, (kept = []));
      if (floorMicros >= 0) kept.push({ at, floorMicros });
      this.expire(kept, at);
    }
  }

  /** The smallest round trip sampled within the window, µs; null when none was (links down, or just started). */
  floorMicros(channel: RttSource): number | null {
    const kept = this.samples.get(channel);
    if (!kept) return null;
    this.expire(kept, this.now());
    return kept.length ? Math.min(...kept.map((s) => s.floorMicros)) : null;
  }

  private expire(kept: Sample[], at: number): void {
    while (kept.length && kept[0].at <= at - this.windowMs) kept.shift();
  }
}
