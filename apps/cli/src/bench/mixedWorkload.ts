/**
 * `tandem bench --rw randrw`: a random read/write mix (fio's randrw with rwmixread). The initiator's randwrite load
 * drives a ReadWriteMix, a view of the device that turns each write into a read of the same blocks with probability
 * readPercent/100, so queue depth, placement and latency recording are the initiator's own; reads and writes are
 * counted apart.
 */
import { ExecuteOptions, ScsiDevice, ScsiResult, WorkloadProgress, WorkloadResult, WorkloadSpec, WriteOptions, runWorkload } from '@tandem/initiator';

export interface MixedWorkloadResult extends WorkloadResult {
  reads: number;
  writes: number;
}

/** Whether the next I/O reads: pure, so the mix rule is unit-tested. */
export function pickRead(draw: number, readPercent: number): boolean {
  return draw * 100 < readPercent;
}

export class ReadWriteMix extends ScsiDevice {
  reads = 0;
  writes = 0;

  constructor(private readonly inner: ScsiDevice, private readonly readPercent: number, private readonly random: () => number = Math.random) {
    super();
    if (!(readPercent >= 0 && readPercent <= 100)) throw new RangeError(`read percentage must be 0–100 (got ${readPercent})`);
    this.capacity = inner.capacity;
  }

  execute(cdb: Buffer, options?: ExecuteOptions): Promise<ScsiResult> {
    return this.inner.execute(cdb, options);
  }

  override async write(lba: number, data: Buffer, options?: WriteOptions): Promise<void> {
    if (pickRead(this.random(), this.readPercent)) {
      this.reads++;
      await this.inner.read(lba, data.length / this.blockSize, data);
    } else {
      this.writes++;
      await this.inner.write(lba, data, options);
    }
  }
}

export async function runMixedWorkload(
  device: ScsiDevice,
  spec: Omit<WorkloadSpec, 'pattern'> & { readPercent: number },
  onProgress?: (p: WorkloadProgress) => void,
  progressEveryMs = 250,
): Promise<MixedWorkloadResult> {
  if (!device.capacity) await device.readCapacity16();
  const mix = new ReadWriteMix(device, spec.readPercent);
  const result = await runWorkload(mix, { ...spec, pattern: 'randwrite' }, onProgress, progressEveryMs);
  return { ...result, reads: mix.reads, writes: mix.writes };
}
