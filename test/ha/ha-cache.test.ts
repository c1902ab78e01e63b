// Write-back RAM caches on both replicas of a HA device: a write is acknowledged once it is in both nodes' caches,
// so kill -9 of one node loses no acknowledged write — the survivor holds it and writes its cache out (in the
// background, and at once when it marks its partner not synchronized), so its image on disk is complete even though
// no initiator ever sent SYNCHRONIZE CACHE.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { haEvents, type HaNode, haPair, kill9, run, startNode, stopNode, until } from '@tandem/testing';
import { describeWithTools } from '../support/tools';

const MiB = 1 << 20;

/** qemu-io with cache=unsafe: it never sends SYNCHRONIZE CACHE (not even on exit), so only the caches hold the data. */
async function qemuIoNoFlush(url: string, ...commands: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await run('qemu-io', ['-f', 'raw', '-t', 'unsafe', ...commands.flatMap((c) => ['-c', c]), url], { timeoutMs: 20_000 });
  const out = r.stdout + r.stderr;
  return { ok: r.code === 0 && !/error|failed/i.test(out), out };
}

function imageHolds(image: string, position: number, length: number, fill: number): boolean {
  const fd = fs.openSync(image, 'r');
  try {
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, position);
    return buf.every((b) => b === fill);
  } finally {
    fs.closeSync(fd);
  }
}

describeWithTools(['qemu-io'], 'HA pair with write-back caches on both replicas', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-cache-'));
  let a: HaNode;
  let b: HaNode;

  beforeAll(async () => {
    ({ a, b } = await haPair({ dir, sizeBytes: 64 * MiB, startupWaitMs: 2000, cache: { mode: 'write-back', sizeBytes: 32 * MiB } }));
    await Promise.all([startNode(a), startNode(b)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([stopNode(a), stopNode(b)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('kill -9 of the node written through loses no acknowledged write; the survivor flushes it to its image', async () => {
    await until(async () => (await qemuIoNoFlush(a.url, 'read 0 4k')).ok && (await qemuIoNoFlush(b.url, 'read 0 4k')).ok, 'both nodes serving', 30_000);
    expect(haEvents(a).map((e) => e.type)).toContain('ReplicaSynchronized');
    // 8 MiB acknowledged through node-a, never flushed by the initiator.
    const w = await qemuIoNoFlush(a.url, 'write -P 0x5a 0 8M');
    expect(w).toMatchObject({ ok: true });
    await kill9(a);
    // The survivor has every acknowledged byte (from its cache, or its store once flushed).
    expect(await qemuIoNoFlush(b.url, 'read -P 0x5a 0 8M')).toMatchObject({ ok: true });
    // It goes on alone (a write elsewhere makes it notice at once; the heartbeat would too) and marks node-a not synchronized.
    await until(async () => (await qemuIoNoFlush(b.url, 'write -P 0x6b 16M 1M')).ok, 'a write through node-b alone', 20_000, 100);
    await until(async () => haEvents(b).some((e) => e.type === 'ReplicaNotSynchronized'), 'node-b marking node-a not synchronized', 20_000, 100);
    expect(await qemuIoNoFlush(b.url, 'read -P 0x5a 0 8M')).toMatchObject({ ok: true });
    // node-b wrote its cache out: its image holds the data without any SYNCHRONIZE CACHE.
    await until(async () => imageHolds(b.image, 0, 8 * MiB, 0x5a), "node-b's image holding the data", 20_000, 100);
    // Even a kill -9 of the survivor now loses nothing: the data is in its image, not only in its RAM.
    await kill9(b);
    expect(imageHolds(b.image, 0, 8 * MiB, 0x5a)).toBe(true);
  }, 120_000);
});
