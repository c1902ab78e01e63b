// The randrw mix: which draws read, and the device view that turns writes into reads by them.
import { ScsiDevice, ScsiResult } from '@tandem/initiator';
import { ReadWriteMix, pickRead } from './mixedWorkload';

describe('pickRead', () => {
  it('reads for draws below the read share and writes for the rest', () => {
    const draws = Array.from({ length: 100 }, (_, i) => i / 100);
    expect(draws.filter((d) => pickRead(d, 70))).toHaveLength(70);
    expect(pickRead(0.69, 70)).toBe(true);
    expect(pickRead(0.7, 70)).toBe(false);
  });

  it('never reads at 0 % and always reads at 100 %', () => {
    expect(pickRead(0, 0)).toBe(false);
    expect(pickRead(0.999999, 100)).toBe(true);
  });
});

describe('ReadWriteMix', () => {
  it('sends each write as a read or a write of the same blocks by the draw, and counts them', async () => {
    const calls: string[] = [];
    const inner = new (class extends ScsiDevice {
      execute(): Promise<ScsiResult> {
        throw new Error('not used here');
      }
      override async read(lba: number, blocks: number, into?: Buffer): Promise<Buffer> {
        calls.push(`read ${lba}+${blocks}`);
        return into ?? Buffer.alloc(blocks * 512);
      }
      override async write(lba: number, data: Buffer): Promise<void> {
        calls.push(`write ${lba}+${data.length / 512}`);
      }
    })();
    inner.capacity = { blockSize: 512, blockCount: 1024 } as ScsiDevice['capacity'];
    const draws = [0.1, 0.8, 0.69, 0.7];
    const mix = new ReadWriteMix(inner, 70, () => draws.shift()!);
    for (const lba of [0, 8, 16, 24]) await mix.write(lba, Buffer.alloc(4096));
    expect(calls).toEqual(['read 0+8', 'write 8+8', 'read 16+8', 'write 24+8']);
    expect([mix.reads, mix.writes]).toEqual([2, 2]);
    expect(() => new ReadWriteMix(inner, 101)).toThrow(/0–100/);
  });
});
