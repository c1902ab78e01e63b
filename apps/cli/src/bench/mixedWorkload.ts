/**
 * `tandem bench --rw randrw`: a random read/write mix (fio's randrw with rwmixread) on a ScsiDevice. Each of
 * `queueDepth` workers keeps one I/O in flight and picks read or write per I/O with probability readPercent/100;
 * latency of every I/O goes into one histogram, with reads and writes counted apart.
 */
import { randomFillSync } from 'crypto';
import { LatencyHistogram, ScsiDevice, WorkloadProgress, WorkloadResult } from '@tandem/initiator';

export interface MixedWorkloadSpec {
  blockSize: number;
  queueDepth: number;
  durationMs: number;
  /** Share of I/Os that read, 0–100. */
  readPercent: number;
  spanBytes?: number;
  signal?: AbortSignal;
  /** A uniform [0, 1) source (default Math.random): picks both the operation and the block. */
  random?: () => number;
}

export interface MixedWorkloadResult extends WorkloadResult {
  reads: number;
  writes: number;
}

/** Whether the next I/O reads: pure, so the mix rule is unit-tested. */
export function pickRead(draw: number, readPercent: number): boolean {
  return draw * 100 < readPercent;
}

export async function runMixedWorkload(
  device: ScsiDevice,
  spec: MixedWorkloadSpec,
  onProgress?: (p: WorkloadProgress) => void,
  progressEveryMs = 250,
): Promise<MixedWorkloadResult> {
  const capacity = device.capacity ?? (await device.readCapacity16());
  const lbSize = capacity.blockSize;
  if (spec.blockSize <= 0 || spec.blockSize % lbSize !== 0) throw new RangeError(`block size ${spec.blockSize} is not a multiple of the LU's ${lbSize}-byte blocks`);
  if (!Number.isInteger(spec.queueDepth) || spec.queueDepth < 1) throw new RangeError('queue depth must be a positive integer');
  if (!(spec.readPercent >= 0 && spec.readPercent <= 100)) throw new RangeError(`read percentage must be 0–100 (got ${spec.readPercent})`);
  const random = spec.random ?? Math.random;
  const spanBlocks = Math.floor(Math.min(spec.spanBytes ?? Infinity, capacity.blockCount * lbSize) / lbSize);
  const blocksPerIo = spec.blockSize / lbSize;
  const slots = Math.floor(spanBlocks / blocksPerIo);
  if (slots < 1) throw new RangeError(`the region (${spanBlocks} blocks) is smaller than one I/O of ${blocksPerIo} blocks`);

  const latency = new LatencyHistogram();
  const state = { ios: 0, reads: 0, writes: 0, bytes: 0, errors: 0, stop: false, error: undefined as Error | undefined };
  const started = performance.now();
  const endAt = started + spec.durationMs;

  const worker = async (): Promise<void> => {
    const readBuffer = Buffer.allocUnsafeSlow(spec.blockSize);
    const writeBuffer = Buffer.allocUnsafeSlow(spec.blockSize);
    randomFillSync(writeBuffer);
    while (!state.stop) {
      const read = pickRead(random(), spec.readPercent);
      const lba = Math.floor(random() * slots) * blocksPerIo;
      const t0 = performance.now();
      try {
        if (read) await device.read(lba, blocksPerIo, readBuffer);
        else await device.write(lba, writeBuffer);
      } catch (err) {
        state.errors++;
        if (!state.error) state.error = err as Error;
        state.stop = true;
        return;
      }
      const t1 = performance.now();
      latency.record((t1 - t0) * 1000);
      state.ios++;
      if (read) state.reads++;
      else state.writes++;
      state.bytes += spec.blockSize;
      if (t1 >= endAt) state.stop = true;
    }
  };

  const progress = () => onProgress?.({ elapsedMs: performance.now() - started, ios: state.ios, bytes: state.bytes, errors: state.errors });
  const ticker = onProgress ? setInterval(progress, progressEveryMs) : null;
  const stopper = setTimeout(() => (state.stop = true), spec.durationMs);
  const abort = () => (state.stop = true);
  spec.signal?.addEventListener('abort', abort);
  if (spec.signal?.aborted) state.stop = true;
  try {
    await Promise.all(Array.from({ length: spec.queueDepth }, worker));
  } finally {
    if (ticker) clearInterval(ticker);
    clearTimeout(stopper);
    spec.signal?.removeEventListener('abort', abort);
  }
  progress();
  const elapsedMs = performance.now() - started;
  return {
    elapsedMs,
    ios: state.ios,
    reads: state.reads,
    writes: state.writes,
    bytes: state.bytes,
    errors: state.errors,
    latency,
    iops: state.ios / (elapsedMs / 1000),
    bandwidth: state.bytes / (elapsedMs / 1000),
    error: state.error,
  };
}
