// The HA pair under load through Tandem's own MPIO initiator (least-queue-depth over one path per node), with the
// self-checking verifier (test/support/mpioVerifier.ts): no acknowledged write lost, no block read back older than
// its last acknowledged write. node-a is killed (-9) in the middle; I/O goes on through node-b without an error to
// the writers; the failover time is printed; node-a comes back, is resynced, and the images end identical.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { haEvents, type HaNode, haPair, kill9, run, startNode, stopNode, until } from '@tandem/testing';
import { qemuIo } from '../support/qemuIo';
import { MpioVerifier } from '../support/mpioVerifier';
import { describeWithTools } from '../support/tools';

const MiB = 1 << 20;

const qemuIoOk = async (url: string): Promise<boolean> => (await qemuIo(url, ['read 0 4k'], 10_000)).ok;

describeWithTools(['qemu-io', 'qemu-img'], 'HA pair through the MPIO initiator: kill -9 under write load', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-mpio-'));
  let a: HaNode;
  let b: HaNode;
  let verifier: MpioVerifier | undefined;

  afterAll(async () => {
    await verifier?.close();
    await Promise.all([stopNode(a), stopNode(b)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('loses no acknowledged write, never reads older data, fails over, resyncs to identical images', async () => {
    ({ a, b } = await haPair({ dir, sizeBytes: 64 * MiB, startupWaitMs: 2000 }));
    await Promise.all([startNode(a), startNode(b)]);
    await until(async () => (await qemuIoOk(a.url)) && (await qemuIoOk(b.url)), 'both nodes serving', 30_000);
    verifier = await MpioVerifier.open([a.url, b.url], { spanBytes: 64 * MiB });
    verifier.start();
    await new Promise((r) => setTimeout(r, 2000));
    const killedAt = Date.now();
    await kill9(a);
    await verifier.moreWrites(50, 'after the kill');
    process.stdout.write(`failover: kill -9 of node-a → writes completing through node-b after ${Date.now() - killedAt} ms (initiator failover ${verifier.failovers.join(', ') || 'n/a'} ms)\n`);
    await new Promise((r) => setTimeout(r, 2000));
    await verifier.stop();
    expect(verifier.problems).toEqual([]);
    expect(verifier.failedWrites).toBe(0);

    // Every acknowledged block reads back as written, through node-b alone.
    await verifier.checkAll();
    expect(verifier.problems).toEqual([]);

    // node-a comes back: resynced from node-b, it serves again; then both copies are the same bytes.
    a.log = '';
    await startNode(a);
    await until(() => haEvents(b).some((e) => e.type === 'ResyncCompleted'), 'the resync', 60_000);
    await until(async () => qemuIoOk(a.url), 'node-a serving again', 30_000);
    await verifier.checkAll();
    expect(verifier.problems).toEqual([]);
    process.stdout.write(`verifier: ${verifier.summary()}\n`);
    expect(haEvents(b).map((e) => e.type)).toEqual(expect.arrayContaining(['ReplicaNotSynchronized', 'ResyncStarted', 'ResyncCompleted', 'ReplicaSynchronized']));
    await verifier.close();
    verifier = undefined;
    await Promise.all([stopNode(a), stopNode(b)]);
    const compare = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', a.image, b.image], { timeoutMs: 60_000 });
    expect(compare.stdout).toMatch(/Images are identical/);
  }, 180_000);
});
