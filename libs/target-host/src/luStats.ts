/**
 * Per-LU I/O counters fed by the data path: commands, bytes, busy time, latency buckets and in-flight count. Plain numbers only,
 * no allocation per command; readers (telemetry, /metrics) take a snapshot and work out rates from deltas.
 */
import { performance } from 'perf_hooks';
import { BucketHistogram, LATENCY_BUCKETS_SECONDS } from '@tandem/replication';
import { CommandObserver, ScsiTask } from '@tandem/scsi';

const enum IoKind {
  Other = 0,
  Read = 1,
  Write = 2,
}

/** Opcode → read/write, so TEST UNIT READY polls and INQUIRY do not count as I/O. */
const IO_KIND_BY_OPCODE = new Uint8Array(256);
for (const op of [0x08, 0x28, 0xa8, 0x88]) IO_KIND_BY_OPCODE[op] = IoKind.Read; // READ(6/10/12/16)
// WRITE(6/10/12/16), WRITE AND VERIFY(10/12/16), WRITE SAME(10/16), COMPARE AND WRITE
for (const op of [0x0a, 0x2a, 0xaa, 0x8a, 0x2e, 0xae, 0x8e, 0x41, 0x93, 0x89]) IO_KIND_BY_OPCODE[op] = IoKind.Write;

export interface LuStatsSnapshot {
  readonly readCommands: number;
  readonly writeCommands: number;
  readonly otherCommands: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  /** Sum of the latencies of completed reads / writes, in microseconds. */
  readonly readMicros: number;
  readonly writeMicros: number;
  /** Commands executing right now. */
  readonly inFlight: number;
  /** Highest in-flight count since the previous snapshot (`takeSnapshot` resets it). */
  readonly peakInFlight: number;
  /** The LU's RAM cache (0 without one): dirty bytes now, and the estimated seconds to flush them (null: not measured yet). */
  readonly cacheDirtyBytes: number;
  readonly cacheFlushSeconds: number | null;
  /** `performance.now()` when the snapshot was taken (ms). */
  readonly at: number;
}

/** What LuStats reads from a LU's RAM cache (a CachedStore) when it takes a snapshot. */
export interface CacheGauge {
  stats(): { dirtyBytes: number; estimatedFlushSeconds: number | null };
}

/** Installed as the LU's `observer`: ScsiTarget.execute reports every command to it. */
export class LuStats implements CommandObserver {
  readCommands = 0;
  writeCommands = 0;
  otherCommands = 0;
  readBytes = 0;
  writeBytes = 0;
  readMicros = 0;
  writeMicros = 0;
  inFlight = 0;
  peakInFlight = 0;
  /** Latency distributions (fixed buckets, filled in place; /metrics copies them at scrape time). */
  readonly readLatency = new BucketHistogram(LATENCY_BUCKETS_SECONDS);
  readonly writeLatency = new BucketHistogram(LATENCY_BUCKETS_SECONDS);
  /** The LU's RAM cache, when it has one. */
  cache: CacheGauge | null = null;

  /** Called when a command starts; returns its start time for {@link completed}. */
  started(): number {
    if (++this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    return performance.now();
  }

  completed(task: ScsiTask, startedAt: number): void {
    this.inFlight--;
    const micros = (performance.now() - startedAt) * 1000;
    const kind = IO_KIND_BY_OPCODE[task.cdb.length > 0 ? task.cdb[0] : 0];
    if (kind === IoKind.Read) {
      this.readCommands++;
      this.readMicros += micros;
      this.readLatency.observe(micros / 1e6);
      this.readBytes += task.dataInLength < task.expectedLength ? task.dataInLength : task.expectedLength;
    } else if (kind === IoKind.Write) {
      this.writeCommands++;
      this.writeMicros += micros;
      this.writeLatency.observe(micros / 1e6);
      this.writeBytes += task.dataOutLength;
    } else {
      this.otherCommands++;
    }
  }

  /** A copy of the counters; resets the peak so each reporting interval sees its own. */
  takeSnapshot(): LuStatsSnapshot {
    const snapshot = { ...this.peek(), at: performance.now() };
    this.peakInFlight = this.inFlight;
    return snapshot;
  }

  peek(): LuStatsSnapshot {
    const cache = this.cache ? this.cache.stats() : null;
    return {
      readCommands: this.readCommands,
      writeCommands: this.writeCommands,
      otherCommands: this.otherCommands,
      readBytes: this.readBytes,
      writeBytes: this.writeBytes,
      readMicros: this.readMicros,
      writeMicros: this.writeMicros,
      inFlight: this.inFlight,
      peakInFlight: this.peakInFlight,
      cacheDirtyBytes: cache ? cache.dirtyBytes : 0,
      cacheFlushSeconds: cache ? cache.estimatedFlushSeconds : 0,
      at: performance.now(),
    };
  }
}

export interface LuRates {
  readIops: number;
  writeIops: number;
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  /** Mean latency of the commands completed in the interval (µs); 0 when none completed. */
  readLatencyMicros: number;
  writeLatencyMicros: number;
  /** Peak commands in flight during the interval. */
  queueDepth: number;
}

/** Rates between two snapshots of the same LU. */
export function ratesBetween(before: LuStatsSnapshot, after: LuStatsSnapshot): LuRates {
  const seconds = Math.max((after.at - before.at) / 1000, 1e-6);
  const reads = after.readCommands - before.readCommands;
  const writes = after.writeCommands - before.writeCommands;
  return {
    readIops: reads / seconds,
    writeIops: writes / seconds,
    readBytesPerSecond: (after.readBytes - before.readBytes) / seconds,
    writeBytesPerSecond: (after.writeBytes - before.writeBytes) / seconds,
    readLatencyMicros: reads > 0 ? (after.readMicros - before.readMicros) / reads : 0,
    writeLatencyMicros: writes > 0 ? (after.writeMicros - before.writeMicros) / writes : 0,
    queueDepth: after.peakInFlight,
  };
}

/**
 * A SCSI target that counts every command per LU on its way through `execute`. The counters sit in a LUN-indexed
 * map of preallocated objects; the only cost per command is two clock reads and a few additions.
 */
