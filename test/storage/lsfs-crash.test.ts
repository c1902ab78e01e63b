// LSFS crash test: a child process writes random 4 KiB blocks (8 at a time, some FUA, garbage collection and index
// checkpoints running) into an LSFS store and is killed with SIGKILL at a random moment; then the store is opened
// here, must recover and pass its own consistency check, and every block must hold what its last durable
// (FUA-acknowledged) write put there, or what a write started after that one put there — never older data, never a
// torn mix. TANDEM_LSFS_CRASH_ITERATIONS (default 50) sets how many kills; `scripts/lsfs-crash.sh` runs 1,000.
import { spawn } from 'child_process';
import * as path from 'path';
import { LsfsStore } from '@tandem/storage';
import { makeTempDir, removeDir } from '../support/files';
import { REPO_ROOT } from '../support/target';

const ITERATIONS = Number(process.env.TANDEM_LSFS_CRASH_ITERATIONS ?? 50);
const BLOCK = 4096;
const DEVICE = 64 * 1024 * 1024;
const BLOCKS = DEVICE / BLOCK;
const STORE_OPTIONS = { segmentBytes: 256 * 1024, indexCacheBytes: 64 * 1024, gcThreshold: 0.5, gcIntervalMs: 50, gcShare: 0.5 };

/** The writer: prints `S id block` when a write starts, `C id` when it completed, `D id` once FUA made it durable. */
const CHILD = `
const { LsfsStore } = require(${JSON.stringify(path.join(REPO_ROOT, 'libs', 'storage', 'dist'))});
const [dir, startId] = process.argv.slice(1);
const options = ${JSON.stringify(STORE_OPTIONS)};
(async () => {
  const store = await LsfsStore.open({ path: dir, sizeBytes: ${DEVICE}, create: true, ...options });
  let next = Number(startId);
  const out = [];
  const flushOut = () => { if (out.length) { process.stdout.write(out.join('')); out.length = 0; } };
  setInterval(flushOut, 2).unref();
  const worker = async () => {
    for (;;) {
      const id = next++;
      // Mostly a hot 2 MiB (overwrites: garbage for GC), sometimes anywhere (index pages: checkpoints).
      const block = Math.random() < 0.7 ? Math.floor(Math.random() * 512) : Math.floor(Math.random() * ${BLOCKS});
      const data = Buffer.alloc(${BLOCK}, id % 251);
      data.writeUInt32LE(id, 0);
      data.writeUInt32LE(block, 4);
      const fua = Math.random() < 0.3;
      // Synchronously, before the write can start: the parent must know every id that may reach the disk.
      flushOut();
      const line = 'S ' + id + ' ' + block + '\\n';
      for (;;) {
        try { require('fs').writeSync(1, line); break; } catch (e) { if (e.code !== 'EAGAIN') throw e; }
      }
      await store.write(data, 0, ${BLOCK}, block * ${BLOCK}, fua);
      out.push((fua ? 'D ' : 'C ') + id + '\\n');
      flushOut();
    }
  };
  for (let i = 0; i < 8; i++) worker().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(3); });
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(2); });
`;

interface BlockHistory {
  /** Ids written to the block since (and including) its last durable write, in start order. */
  ids: number[];
  /** Whether ids[0] is a durable write (else the block may still read as zeros). */
  durableBase: boolean;
}

describe('LSFS survives kill -9 at random moments', () => {
  let dir: string;
  beforeAll(() => {
    dir = path.join(makeTempDir('tandem-lsfs-crash-'), 'store');
  });
  afterAll(() => removeDir(path.dirname(dir)));

  it(`${ITERATIONS} kills: the store recovers, passes its check, and no durable write is lost`, async () => {
    const history = new Map<number, BlockHistory>();
    const blockOf = new Map<number, number>();
    let nextId = 1;
    let durableWrites = 0;
    let recoveredBlocks = 0;
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const child = spawn(process.execPath, ['-e', CHILD, dir, String(nextId)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      // Kill once it has written for a while (a random moment after its first writes).
      const started = Date.now();
      while (!/^[CD] /m.test(stdout) && child.exitCode === null && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      if (!/^[CD] /m.test(stdout)) throw new Error(`iteration ${iteration}: the writer wrote nothing\n${stderr}`);
      expect(stderr).toBe('');

      for (const line of stdout.split('\n')) {
        const [kind, idText, blockText] = line.split(' ');
        const id = Number(idText);
        if (kind === 'S') {
          const block = Number(blockText);
          blockOf.set(id, block);
          const h = history.get(block) ?? { ids: [], durableBase: false };
          h.ids.push(id);
          history.set(block, h);
          nextId = Math.max(nextId, id + 1);
        } else if (kind === 'D') {
          // Durable: older writes to the block no longer count.
          const h = history.get(blockOf.get(id)!)!;
          h.ids = h.ids.slice(h.ids.indexOf(id));
          h.durableBase = true;
          durableWrites++;
        }
      }

      const store = await LsfsStore.open({ path: dir, ...STORE_OPTIONS, gcThreshold: 0 });
      try {
        const report = await store.check();
        expect({ iteration, problems: report.problems }).toEqual({ iteration, problems: [] });
        const buf = Buffer.alloc(BLOCK);
        for (const [block, h] of history) {
          await store.read(buf, 0, BLOCK, block * BLOCK);
          const id = buf.readUInt32LE(0);
          const whole = id === 0 ? buf.equals(Buffer.alloc(BLOCK)) : buf.readUInt32LE(4) === block && buf.subarray(8).equals(Buffer.alloc(BLOCK - 8, id % 251));
          const allowed = h.ids.includes(id) || (id === 0 && !h.durableBase);
          if (!whole || !allowed) {
            throw new Error(`iteration ${iteration}: block ${block} holds ${whole ? `write ${id}` : 'a torn block'}; allowed: ${h.durableBase ? '' : 'zeros, '}writes ${h.ids.join(', ')}`);
          }
          // What recovery shows is the new baseline (it is on disk now).
          if (id !== 0) history.set(block, { ids: [id], durableBase: true });
          recoveredBlocks++;
        }
      } finally {
        await store.close();
      }
    }
    console.log(`LSFS crash test: ${ITERATIONS} kills, ${durableWrites} durable writes, ${recoveredBlocks} block checks, ${nextId - 1} writes started`);
    expect(durableWrites).toBeGreaterThan(ITERATIONS);
  }, 30 * 60_000);
});
