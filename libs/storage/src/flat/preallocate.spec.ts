// Specs of thick FLAT images: reserved by fallocate, and by written zeros where fallocate is refused or missing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { StoreError } from '../blockStore';
import { FlatStore } from './flatStore';
import { nativeFs } from './nativeFs';
import { AllocateFn, preallocate } from './preallocate';

const MiB = 1 << 20;

function errnoError(name: string, errno: number): Error {
  return Object.assign(new Error(`fallocate: ${name}`), { errno });
}

describe('thick FLAT images (preallocate)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-thick-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const allocated = (p: string): number => fs.statSync(p).blocks * 512;
  const allZero = (p: string): boolean => fs.readFileSync(p).every((b) => b === 0);

  it('the addon offers allocate (fallocate mode 0)', () => {
    expect(typeof nativeFs()?.allocate).toBe('function');
  });

  it('a thick image is created fully allocated, reads zeros and opens again as thick', async () => {
    const p = path.join(dir, 'thick.img');
    const s = await FlatStore.open({ path: p, sizeBytes: 32 * MiB, create: true, thin: false });
    expect(s.thin).toBe(false);
    expect(fs.statSync(p).size).toBe(32 * MiB);
    expect(allocated(p)).toBeGreaterThanOrEqual(32 * MiB);
    const back = Buffer.alloc(32 * MiB, 0xff);
    await s.read(back, 0, back.length, 0);
    expect(back.every((b) => b === 0)).toBe(true);
    await s.close();
    const again = await FlatStore.open({ path: p });
    expect(again.thin).toBe(false);
    expect(again.discard).toBeUndefined();
    await again.close();
  });

  it('growing a thick image reserves the new range too', async () => {
    const p = path.join(dir, 'grow.img');
    const s = await FlatStore.open({ path: p, sizeBytes: 4 * MiB, create: true });
    await s.write(Buffer.alloc(MiB, 0x11), 0, MiB, 3 * MiB, true);
    await s.grow(12 * MiB);
    expect(fs.statSync(p).size).toBe(12 * MiB);
    expect(allocated(p)).toBeGreaterThanOrEqual(12 * MiB);
    const back = Buffer.alloc(9 * MiB);
    await s.read(back, 0, back.length, 3 * MiB);
    expect(back.subarray(0, MiB).every((b) => b === 0x11)).toBe(true);
    expect(back.subarray(MiB).every((b) => b === 0)).toBe(true);
    await s.close();
  });

  it('falls back to writing zeros, with progress lines, where the file system answers EOPNOTSUPP', async () => {
    const p = path.join(dir, 'refused.img');
    const fd = fs.openSync(p, 'wx+');
    const calls: Array<[number, number]> = [];
    const refuse: AllocateFn = (_fd, offset, length) => {
      calls.push([offset, length]);
      return Promise.reject(errnoError('Operation not supported', os.constants.errno.EOPNOTSUPP));
    };
    const lines: string[] = [];
    try {
      const how = await preallocate(fd, 8 * MiB, 0, { location: p, allocate: refuse, progress: (l) => lines.push(l), progressEveryMs: 0 });
      expect(how).toBe('zeros');
    } finally {
      fs.closeSync(fd);
    }
    expect(calls).toEqual([[0, 8 * MiB]]);
    expect(fs.statSync(p).size).toBe(8 * MiB);
    expect(allocated(p)).toBeGreaterThanOrEqual(8 * MiB);
    expect(allZero(p)).toBe(true);
    expect(lines[0]).toContain('refuses fallocate');
    expect(lines[0]).toContain('writing 8MiB of zeros');
    expect(lines.some((l) => /of 8MiB zeros written \(\d+ %\)/.test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/8MiB of zeros written in [\d.]+ s/);
  });

  it('falls back to zeros, naming the rebuild, when the addon lacks allocate', async () => {
    const p = path.join(dir, 'old-addon.img');
    fs.writeFileSync(p, Buffer.alloc(MiB, 0x22));
    const fd = fs.openSync(p, 'r+');
    const lines: string[] = [];
    try {
      expect(await preallocate(fd, 3 * MiB, MiB, { location: p, allocate: null, progress: (l) => lines.push(l) })).toBe('zeros');
    } finally {
      fs.closeSync(fd);
    }
    const data = fs.readFileSync(p);
    expect(data.length).toBe(3 * MiB);
    expect(data.subarray(0, MiB).every((b) => b === 0x22)).toBe(true);
    expect(data.subarray(MiB).every((b) => b === 0)).toBe(true);
    expect(lines[0]).toContain('npm rebuild @tandem/storage');
  });

  it('any other fallocate failure (ENOSPC) is a StoreError naming the image, with no zeros written', async () => {
    const p = path.join(dir, 'full.img');
    const fd = fs.openSync(p, 'wx+');
    const lines: string[] = [];
    const full: AllocateFn = () => Promise.reject(errnoError('No space left on device', os.constants.errno.ENOSPC));
    try {
      const attempt = preallocate(fd, 4 * MiB, 0, { location: p, allocate: full, progress: (l) => lines.push(l) });
      await expect(attempt).rejects.toThrow(StoreError);
      await expect(attempt).rejects.toThrow(`cannot reserve 4MiB for ${p}: fallocate: No space left on device`);
    } finally {
      fs.closeSync(fd);
    }
    expect(lines).toEqual([]);
    expect(fs.statSync(p).size).toBe(0);
  });
});
