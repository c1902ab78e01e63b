import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PersistentReservations } from './persistentReservations';
import { loadPrState, removePrState, savePrState } from './prStateFile';

describe('prStateFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tandem-prfile-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves, loads and removes; no file reads as no state', async () => {
    const path = join(dir, 'disk.img.pr.json');
    expect(loadPrState(path)).toBeNull();
    const snapshot = new PersistentReservations().snapshot();
    await savePrState(path, snapshot);
    expect(loadPrState(path)).toEqual(snapshot);
    expect(readdirSync(dir)).toEqual(['disk.img.pr.json']);
    await removePrState(path);
    expect(existsSync(path)).toBe(false);
    await removePrState(path);
  });

  it('a file that does not parse is an error, not an empty state', () => {
    const path = join(dir, 'disk.img.pr.json');
    writeFileSync(path, '{"version":1,');
    expect(() => loadPrState(path)).toThrow(/not valid JSON/);
  });
});
