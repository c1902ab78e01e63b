import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { StoreError } from '../blockStore';
import { FlatStore } from './flatStore';
import { parseSize, formatSize } from '../size';

describe('FlatStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-flat-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a preallocated image, writes and reads back across a reopen', async () => {
    const p = path.join(dir, 'a.img');
    const s = await FlatStore.open({ path: p, sizeBytes: 1 << 20, create: true });
    expect(fs.statSync(p).blocks * 512).toBeGreaterThanOrEqual(1 << 20);
    const data = Buffer.alloc(4096, 0xab);
    await s.write(data, 0, 4096, 8192, true);
    await s.close();
    const again = await FlatStore.open({ path: p, sizeBytes: 1 << 20 });
    const back = Buffer.alloc(4096);
    await again.read(back, 0, 4096, 8192);
    expect(back.equals(data)).toBe(true);
    await again.close();
  });

  it('creates sparse images when thin', async () => {
    const p = path.join(dir, 'thin.img');
    const s = await FlatStore.open({ path: p, sizeBytes: 64 << 20, create: true, thin: true });
    expect(s.thin).toBe(true);
    expect(fs.statSync(p).blocks * 512).toBeLessThan(1 << 20);
    await s.close();
  });

  it('refuses a missing file, a size mismatch and bad geometry with typed errors', async () => {
    await expect(FlatStore.open({ path: path.join(dir, 'none.img') })).rejects.toMatchObject({ code: 'ENOENT' });
    const p = path.join(dir, 'b.img');
    await (await FlatStore.open({ path: p, sizeBytes: 1 << 20, create: true, thin: true })).close();
    await expect(FlatStore.open({ path: p, sizeBytes: 2 << 20 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect(FlatStore.open({ path: path.join(dir, 'c.img'), sizeBytes: 1000, create: true })).rejects.toBeInstanceOf(StoreError);
    await expect(FlatStore.open({ path: path.join(dir, 'd.img'), sizeBytes: 4096, blockSize: 1024, create: true })).rejects.toMatchObject({ code: 'BAD_SECTOR' });
    expect(fs.existsSync(path.join(dir, 'c.img'))).toBe(false);
  });

  it('grows online and refuses to shrink', async () => {
    const p = path.join(dir, 'g.img');
    const s = await FlatStore.open({ path: p, sizeBytes: 1 << 20, create: true, thin: true });
    await s.grow(2 << 20);
    expect(s.sizeBytes).toBe(2 << 20);
    expect(fs.statSync(p).size).toBe(2 << 20);
    await expect(s.grow(1 << 20)).rejects.toMatchObject({ code: 'BAD_SIZE' });
    await s.close();
  });
});

describe('sizes', () => {
  it('parses binary and decimal units', () => {
    expect(parseSize('1GiB')).toBe(1073741824);
    expect(parseSize('512MiB')).toBe(536870912);
    expect(parseSize('10GB')).toBe(10e9);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('1 banana')).toThrow();
    expect(() => parseSize('0')).toThrow();
    expect(formatSize(1073741824)).toBe('1GiB');
  });
});
