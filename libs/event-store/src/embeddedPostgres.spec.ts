import { execFile } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';

// PGlite loads its WASM through dynamic import(), which jest's VM cannot do: the scenario runs in a child Node.
describe('startEmbeddedPostgres', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tandem-pglite-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves PGlite over the wire protocol and keeps the log on disk across restarts', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(__dirname, 'testing/run-ts.js'), path.join(__dirname, 'testing/embeddedRestart.fixture.ts'), dataDir],
      { timeout: 110000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(result.url1).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(result.currentVersion).toBe(1);
    expect(result.data).toEqual([{ name: 'lab' }]);
  }, 120000);

  it('keeps concurrent connections apart: each binds its own statements, transactions do not mix, an abandoned one rolls back', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, 'testing/run-ts.js'), path.join(__dirname, 'testing/embeddedConcurrency.fixture.ts')], {
      timeout: 110000,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(result).toMatchObject({ n: 205, with_b: 100, tx: 5, lost: 0 });
    // Each transaction saw its own row and no other uncommitted one.
    expect(result.seenInTransactions.every((n: number) => n >= 1 && n <= 10)).toBe(true);
  }, 120000);
});
