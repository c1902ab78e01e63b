import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FlatStore } from './flatStore';
import { nativeFsError } from './nativeFs';

const MiB = 1 << 20;

describe('FlatStore thin provisioning (hole punching, SEEK_DATA)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-discard-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const allocated = (p: string): number => fs.statSync(p).blocks * 512;

  it('has the native addon built (npm ci builds libs/storage/native)', () => {
    expect(nativeFsError()).toBe('');
  });

  it('discard gives the space back, reads zeros there and keeps the data around it', async () => {
    const p = path.join(dir, 'thin.img');
    const s = await FlatStore.open({ path: p, sizeBytes: 16 * MiB, create: true, thin: true });
    expect(s.discard).toBeDefined();
    await s.write(Buffer.alloc(4 * MiB, 0x5a), 0, 4 * MiB, 0, true);
    const before = allocated(p);
    expect(before).toBeGreaterThanOrEqual(4 * MiB);

    await s.discard!(1 * MiB, 2 * MiB);
    await s.flush();
    const after = allocated(p);
    expect(before - after).toBeGreaterThanOrEqual(2 * MiB);
    expect(fs.statSync(p).size).toBe(16 * MiB); // KEEP_SIZE

    const back = Buffer.alloc(4 * MiB);
    await s.read(back, 0, 4 * MiB, 0);
    expect(back.subarray(0, MiB).every((b) => b === 0x5a)).toBe(true);
    expect(back.subarray(MiB, 3 * MiB).every((b) => b === 0)).toBe(true);
    expect(back.subarray(3 * MiB).every((b) => b === 0x5a)).toBe(true);
    await s.close();
  });

  it('discard of a range smaller than a filesystem block zeroes just that range', async () => {
    const p = path.join(dir, 'small.img');
    const s = await FlatStore.open({ path: p, sizeBytes: MiB, create: true, thin: true });
    await s.write(Buffer.alloc(8192, 0xee), 0, 8192, 0, false);
    await s.discard!(512, 1024);
    const back = Buffer.alloc(8192);
    await s.read(back, 0, 8192, 0);
    expect(back.subarray(0, 512).every((b) => b === 0xee)).toBe(true);
    expect(back.subarray(512, 1536).every((b) => b === 0)).toBe(true);
    expect(back.subarray(1536).every((b) => b === 0xee)).toBe(true);
    await s.close();
  });

  it('mappedRanges lists the allocated extents inside a window', async () => {
    const p = path.join(dir, 'map.img');
    const s = await FlatStore.open({ path: p, sizeBytes: 16 * MiB, create: true, thin: true });
    expect(await s.mappedRanges!(0, 16 * MiB, 16)).toEqual([]);
    await s.write(Buffer.alloc(MiB, 1), 0, MiB, 2 * MiB, false);
    await s.write(Buffer.alloc(MiB, 1), 0, MiB, 8 * MiB, false);
    expect(await s.mappedRanges!(0, 16 * MiB, 16)).toEqual([
      { position: 2 * MiB, length: MiB },
      { position: 8 * MiB, length: MiB },
    ]);
    // Clipped to the window, and to maxRanges.
    expect(await s.mappedRanges!(2.5 * MiB, 6 * MiB, 16)).toEqual([{ position: 2.5 * MiB, length: 0.5 * MiB }, { position: 8 * MiB, length: 0.5 * MiB }]);
    expect(await s.mappedRanges!(0, 16 * MiB, 1)).toEqual([{ position: 2 * MiB, length: MiB }]);
    await s.discard!(2 * MiB, MiB);
    expect(await s.mappedRanges!(0, 16 * MiB, 16)).toEqual([{ position: 8 * MiB, length: MiB }]);
    await s.close();
  });

  it('a thick (preallocated) image offers no discard, so it stays fully provisioned', async () => {
    const s = await FlatStore.open({ path: path.join(dir, 'thick.img'), sizeBytes: MiB, create: true });
    expect(s.thin).toBe(false);
    expect(s.discard).toBeUndefined();
    expect(s.mappedRanges).toBeUndefined();
    await s.close();
  });
});
