/** The BlockStore the LU sees for a HA device: reads local while this replica serves, writes mirrored (see HaDevice). */
import { StoreError, type BlockStore, type ByteRange } from '@tandem/storage';
import type { HaDevice } from './haDevice';
import { mirrorDiscard, mirrorFlush, mirrorWrite } from './mirroredIo';

/** The error an I/O gets while this replica does not serve (the LU answers NOT READY, unavailable). */
export const unavailable = (why: string) => new StoreError(`replica not serving: ${why}`, 'UNAVAILABLE');

export class ReplicatedStore implements BlockStore {
  readonly kind: BlockStore['kind'];
  readonly location: string;
  readonly blockSize: number;
  readonly thin: boolean;
  readonly discard?: (position: number, length: number) => Promise<void>;
  readonly mappedRanges?: (position: number, length: number, maxRanges: number) => Promise<ByteRange[]>;

  constructor(private readonly device: HaDevice) {
    const local = device.local;
    this.kind = local.kind;
    this.location = `${local.location} (HA ${device.config.deviceId})`;
    this.blockSize = local.blockSize;
    this.thin = local.thin;
    if (local.discard) this.discard = (position, length) => mirrorDiscard(device, position, length);
    if (local.mappedRanges) this.mappedRanges = (position, length, max) => this.readable().then(() => local.mappedRanges!(position, length, max));
  }

  get sizeBytes(): number {
    return this.device.local.sizeBytes;
  }

  private readable(): Promise<void> {
    return this.device.role === 'serving' ? Promise.resolve() : Promise.reject(unavailable(this.device.blockReason));
  }

  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    // While a member's fate is being decided this replica may be the one about to step aside: reads wait too.
    const waiting = this.device.ready();
    if (waiting) return waiting.then(() => this.read(buf, bufOffset, length, position));
    if (this.device.role !== 'serving') return Promise.reject(unavailable(this.device.blockReason));
    return this.device.local.read(buf, bufOffset, length, position);
  }

  write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    return mirrorWrite(this.device, buf, bufOffset, length, position, fua);
  }

  flush(): Promise<void> {
    return mirrorFlush(this.device);
  }

  async grow(newSizeBytes: number): Promise<void> {
    await this.device.local.grow(newSizeBytes);
    for (const p of this.device.partners) await p.bitmap.grow(newSizeBytes);
  }

  async close(): Promise<void> {
    await this.device.close();
    await this.device.local.close();
  }
}
