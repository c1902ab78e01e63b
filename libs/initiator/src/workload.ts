/**
 * A fio-like load on a ScsiDevice: `queueDepth` workers each keep one I/O in flight (sequential or random,
 * read or write, fixed block size) for a duration; latency goes into a histogram. Buffers are allocated once
 * per worker, so the loop allocates nothing of its own per I/O.
 */
import { randomFillSync } from 'crypto';
import { LatencyHistogram } from './latencyHistogram';
import type { ScsiDevice } from './scsiDevice';

export type WorkloadPattern = 'read' | 'write' | 'randread' | 'randwrite';
export const WORKLOAD_PATTERNS: readonly WorkloadPattern[] = ['read', 'write', 'randread', 'randwrite'];

export interface WorkloadSpec {
  pattern: WorkloadPattern;
  /** Bytes per I/O: a multiple of the device's block size. */
  blockSize: number;
  queueDepth: number;
  durationMs: number;
  /** Region used, from offsetBytes (default: the whole LU). */
  spanBytes?: number;
  offsetBytes?: number;
  /** Ends the run early (the result covers what ran). */
  signal?: AbortSignal;
}

export interface WorkloadProgress {
  elapsedMs: number;
  ios: number;
  bytes: number;
  errors: number;
}

export interface WorkloadResult extends WorkloadProgress {
  /** Microseconds per I/O. */
  latency: LatencyHistogram;
  iops: number;
  /** Bytes per second. */
  bandwidth: number;
  /** The first error, when the run stopped because of one. */
  error?: Error;
}

export async function runWorkload(
  device: ScsiDevice,
  spec: WorkloadSpec,
  onProgress?: (p: WorkloadProgress) => void,
  progressEveryMs = 250,
): Promise<WorkloadResult> {
  const capacity = device.capacity ?? (await device.readCapacity16());
  const lbSize = capacity.blockSize;
  if (spec.blockSize <= 0 || spec.blockSize % lbSize !== 0) throw new RangeError(`block size ${spec.blockSize} is not a multiple of the LU's ${lbSize}-byte blocks`);
  if (!Number.isInteger(spec.queueDepth) || spec.queueDepth < 1) throw new RangeError('queue depth must be a positive integer');
  const firstLba = Math.floor((spec.offsetBytes ?? 0) / lbSize);
  const spanBlocks = Math.floor(Math.min(spec.spanBytes ?? Infinity, capacity.blockCount * lbSize - firstLba * lbSize) / lbSize);
  const blocksPerIo = spec.blockSize / lbSize;
  const slots = Math.floor(spanBlocks / blocksPerIo);
  if (slots < 1) throw new RangeError(`the region (${spanBlocks} blocks) is smaller than one I/O of ${blocksPerIo} blocks`);
  const write = spec.pattern === 'write' || spec.pattern === 'randwrite';
  const random = spec.pattern === 'randread' || spec.pattern === 'randwrite';

  const latency = new LatencyHistogram();
  const state = { ios: 0, bytes: 0, errors: 0, stop: false, error: undefined as Error | undefined, next: 0 };
  const started = performance.now();
  const endAt = started + spec.durationMs;

  const worker = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafeSlow(spec.blockSize);
    if (write) randomFillSync(buffer);
    while (!state.stop) {
      const slot = random ? Math.floor(Math.random() * slots) : state.next++ % slots;
      const lba = firstLba + slot * blocksPerIo;
      const t0 = performance.now();
      try {
        if (write) await device.write(lba, buffer);
        else await device.read(lba, blocksPerIo, buffer);
      } catch (err) {
        state.errors++;
        if (!state.error) state.error = err as Error;
        state.stop = true;
        return;
      }
      const t1 = performance.now();
      latency.record((t1 - t0) * 1000);
      state.ios++;
      state.bytes += spec.blockSize;
      if (t1 >= endAt) state.stop = true;
    }
  };

  const progress = () => onProgress?.({ elapsedMs: performance.now() - started, ios: state.ios, bytes: state.bytes, errors: state.errors });
  const ticker = onProgress ? setInterval(progress, progressEveryMs) : null;
  // A deadline on the run as a whole, so a stuck device cannot hold it past its time by much.
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
    bytes: state.bytes,
    errors: state.errors,
    latency,
    iops: state.ios / (elapsedMs / 1000),
    bandwidth: state.bytes / (elapsedMs / 1000),
    error: state.error,
  };
}
