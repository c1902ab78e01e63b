/** A thin in-memory BlockStore for the provisioning specs: tracks which blocks are mapped. */
import { BlockStore, ByteRange } from '@tandem/storage';
import { runCommand, nexus, RunOptions } from './harness.spec-helper';
import { LogicalUnit } from './logicalUnit';
import { ScsiTarget } from './scsiTarget';

export class ThinMemoryStore implements BlockStore {
  readonly kind = 'flat' as const;
  readonly location = 'thin-memory';
  readonly thin = true;
  readonly data: Buffer;
  readonly mapped: Uint8Array;
  writes: Array<{ position: number; length: number; fua: boolean }> = [];
  discards: Array<{ position: number; length: number }> = [];
  /** When set, the next read waits for this promise before copying (to interleave commands). */
  readGate: Promise<void> | null = null;

  constructor(readonly blockSize: number, blocks: number) {
    this.data = Buffer.alloc(blockSize * blocks);
    this.mapped = new Uint8Array(blocks);
  }

  get sizeBytes(): number {
    return this.data.length;
  }

  async read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    const gate = this.readGate;
    this.readGate = null;
    if (gate) await gate;
    this.data.copy(buf, bufOffset, position, position + length);
  }

  async write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    buf.copy(this.data, position, bufOffset, bufOffset + length);
    this.mapped.fill(1, position / this.blockSize, (position + length) / this.blockSize);
    this.writes.push({ position, length, fua });
  }

  async discard(position: number, length: number): Promise<void> {
    this.data.fill(0, position, position + length);
    this.mapped.fill(0, position / this.blockSize, (position + length) / this.blockSize);
    this.discards.push({ position, length });
  }

  async mappedRanges(position: number, length: number, maxRanges: number): Promise<ByteRange[]> {
    const bs = this.blockSize;
    const ranges: ByteRange[] = [];
    let b = position / bs;
    const end = (position + length) / bs;
    while (b < end && ranges.length < maxRanges) {
      while (b < end && !this.mapped[b]) b++;
      if (b >= end) break;
      const first = b;
      while (b < end && this.mapped[b]) b++;
      ranges.push({ position: first * bs, length: (b - first) * bs });
    }
    return ranges;
  }

  async flush(): Promise<void> {}
  async grow(): Promise<void> {
    throw new Error('not in these specs');
  }
  async close(): Promise<void> {}
}

export async function thinFixture(blockSize = 512, blocks = 4096) {
  const store = new ThinMemoryStore(blockSize, blocks);
  const lu = new LogicalUnit({ store, identity: { deviceId: 'thin-1' } });
  const target = new ScsiTarget({ luns: [[0, lu]] });
  target.nexusLoggedIn(nexus(1));
  const run = (cdb: number[] | Buffer, options: RunOptions = {}) => runCommand(target, cdb, options);
  await run([0, 0, 0, 0, 0, 0]); // consume the power-on unit attention
  return { store, lu, target, run };
}
