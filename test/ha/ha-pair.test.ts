// Two real node processes presenting one HA device on loopback: writes through either node land on both
// replicas; kill -9 of the priority node under load → the partner goes on alone (failover time printed), the
// restarted node is resynced from the dirty regions only and serves again; the images end byte-identical.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { haEvents, type HaNode, haPair, kill9, run, startNode, stopNode, until } from '@tandem/testing';
import { qemuIo as runQemuIo } from '../support/qemuIo';
import { MpioVerifier } from '../support/mpioVerifier';
import { describeWithTools } from '../support/tools';

const MiB = 1 << 20;

const qemuIo = (url: string, ...commands: string[]) => runQemuIo(url, commands, 20_000);

describeWithTools(['qemu-io', 'qemu-img'], 'HA pair: synchronous mirroring, failover, fast resync', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-'));
  let a: HaNode;
  let b: HaNode;

  beforeAll(async () => {
    ({ a, b } = await haPair({ dir, sizeBytes: 64 * MiB, startupWaitMs: 2000 }));
    await Promise.all([startNode(a), startNode(b)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([stopNode(a), stopNode(b)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('mirrors writes through either node (active-active)', async () => {
    await until(async () => (await qemuIo(a.url, 'read 0 4k')).ok && (await qemuIo(b.url, 'read 0 4k')).ok, 'both nodes serving', 30_000);
    expect((await qemuIo(a.url, 'write -P 0x11 0 4M')).ok).toBe(true);
    expect((await qemuIo(b.url, 'read -P 0x11 0 4M')).ok).toBe(true);
    expect((await qemuIo(b.url, 'write -P 0x22 4M 4M')).ok).toBe(true);
    expect((await qemuIo(a.url, 'read -P 0x22 4M 4M')).ok).toBe(true);
    expect(haEvents(a).map((e) => e.type)).toContain('ReplicaSynchronized');
  }, 120_000);

  it('fails over to the partner when the priority node is killed, then resyncs it on return', async () => {
    // Writes under way on A when it dies.
    const load = qemuIo(a.url, 'write -P 0x33 8M 16M');
    await new Promise((r) => setTimeout(r, 150));
    const killedAt = Date.now();
    await kill9(a);
    // The next write through B completes once B has decided to go on alone.
    await until(async () => (await qemuIo(b.url, 'write -P 0x44 24M 1M')).ok, 'a write through node-b', 20_000, 50);
    const failoverMs = Date.now() - killedAt;
    // The initiator of the interrupted writes gives up on its dead path (its writes were never acknowledged).
    await load;
    process.stdout.write(`failover: kill -9 of node-a → next write completed on node-b after ${failoverMs} ms\n`);
    expect(haEvents(b).map((e) => e.type)).toContain('ReplicaNotSynchronized');
    expect((await qemuIo(b.url, 'read -P 0x44 24M 1M')).ok).toBe(true);

    // A comes back: it is behind, so it is resynced from B (dirty regions only) and then serves again.
    a.log = '';
    await startNode(a);
    await until(async () => (await qemuIo(a.url, 'read -P 0x44 24M 1M')).ok, 'node-a serving again after resync', 60_000, 200);
    const completed = haEvents(b).find((e) => e.type === 'ResyncCompleted');
    expect(completed).toBeDefined();
    process.stdout.write(`resync: ${JSON.stringify(completed)}\n`);
    expect(completed!.bytes as number).toBeLessThan(32 * MiB);

    // Both replicas hold the same bytes.
    await Promise.all([stopNode(a), stopNode(b)]);
    const compare = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', a.image, b.image], { timeoutMs: 60_000 });
    expect(compare.stdout).toMatch(/Images are identical/);
  }, 180_000);
});

describeWithTools(['qemu-io', 'qemu-img'], 'HA pair: fast resync copies only the dirty regions', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-resync-'));
  const GiB = 1024 * MiB;
  const REGION = 64 * 1024;
  let a: HaNode;
  let b: HaNode;

  afterAll(async () => {
    await Promise.all([stopNode(a), stopNode(b)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('after an outage that dirtied ~1% of a 1 GiB device, transfers at most 1.1× the dirty bytes', async () => {
    ({ a, b } = await haPair({ dir, sizeBytes: GiB, regionBytes: REGION, startupWaitMs: 2000 }));
    await Promise.all([startNode(a), startNode(b)]);
    await until(async () => (await qemuIo(a.url, 'read 0 4k')).ok && (await qemuIo(b.url, 'read 0 4k')).ok, 'both nodes serving', 30_000);
    // node-b goes away (maintenance); node-a goes on alone and remembers what it changes.
    await stopNode(b);
    // 164 writes of 64 KiB scattered over the device (~1%, 10.25 MiB), each inside one bitmap region.
    const commands: string[] = [];
    for (let i = 0; i < 164; i++) commands.push(`write -P ${(i % 250) + 1} ${(i * 6247 + 11) % (GiB / REGION) * REGION} 64k`);
    for (let i = 0; i < commands.length; i += 40) expect((await qemuIo(a.url, ...commands.slice(i, i + 40))).ok).toBe(true);
    const dirtyBytes = new Set(commands.map((c) => Number(c.split(' ')[3]) / REGION)).size * REGION;
    b.log = '';
    await startNode(b);
    const completed = await until(() => haEvents(a).find((e) => e.type === 'ResyncCompleted' && (e.kind as string) === 'fast'), 'the fast resync to complete', 60_000);
    const transferred = completed.bytes as number;
    process.stdout.write(`fast resync: dirty ${dirtyBytes} bytes (at ${REGION}-byte granularity), transferred ${transferred} bytes (${(transferred / dirtyBytes).toFixed(3)}×) in ${completed.seconds} s\n`);
    expect(transferred).toBeGreaterThanOrEqual(dirtyBytes);
    expect(transferred).toBeLessThanOrEqual(1.1 * dirtyBytes);
    await until(async () => (await qemuIo(b.url, `read -P 1 ${Number(commands[0].split(' ')[3])} 64k`)).ok, 'node-b serving the resynced data', 30_000);
    await Promise.all([stopNode(a), stopNode(b)]);
    const compare = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', a.image, b.image], { timeoutMs: 120_000 });
    expect(compare.stdout).toMatch(/Images are identical/);
  }, 240_000);
});

describeWithTools(['qemu-io', 'qemu-img'], 'HA pair: crashes during resync and of both nodes, under the MPIO verifier', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-crash-'));
  let a: HaNode;
  let b: HaNode;
  let verifier: MpioVerifier | undefined;

  afterAll(async () => {
    await verifier?.close();
    await Promise.all([stopNode(a), stopNode(b)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('a node killed during resync: the resync resumes after its restart; both killed and restarted: they pair again, no acknowledged write lost', async () => {
    // Throttled resync (8 MiB/s), so that there is time to kill a node in the middle of it.
    ({ a, b } = await haPair({ dir, sizeBytes: 128 * MiB, startupWaitMs: 2000, resyncBytesPerSecond: 8 * MiB }));
    await Promise.all([startNode(a), startNode(b)]);
    await until(async () => (await qemuIo(a.url, 'read 0 4k')).ok && (await qemuIo(b.url, 'read 0 4k')).ok, 'both nodes serving', 30_000);
    // The verifier's load covers the first 8 MiB; a bulk write while node-b is away gives the resync 64 MiB more.
    const v = (verifier = await MpioVerifier.open([a.url, b.url], { spanBytes: 8 * MiB }));
    v.start();
    await v.moreWrites(200, 'with both nodes up');
    await stopNode(b);
    await v.moreWrites(200, 'while node-b is away');
    expect((await qemuIo(a.url, 'write -P 0x61 64M 64M')).ok).toBe(true);
    b.log = '';
    await startNode(b);
    await until(() => haEvents(a).some((e) => e.type === 'ResyncStarted'), 'the resync to start', 20_000);
    const first = haEvents(a).find((e) => e.type === 'ResyncStarted')!;
    await new Promise((r) => setTimeout(r, 3000));
    // The resync target dies half-way; node-a goes on alone and keeps what is still to copy.
    await kill9(b);
    await v.moreWrites(200, 'after node-b died during the resync');
    b.log = '';
    const started = haEvents(a).filter((e) => e.type === 'ResyncStarted').length;
    await startNode(b);
    await until(() => haEvents(a).filter((e) => e.type === 'ResyncStarted').length > started, 'the resync to start again', 20_000);
    const resumed = haEvents(a).filter((e) => e.type === 'ResyncStarted').pop()!;
    process.stdout.write(`resync resumed with ${resumed.bytes} bytes left (the first run had ${first.bytes})\n`);
    expect(resumed.bytes as number).toBeLessThan(first.bytes as number);
    await until(async () => (await qemuIo(b.url, 'read 0 4k')).ok, 'node-b serving after the resumed resync', 60_000, 250);
    await v.moreWrites(200, 'with node-b back');

    // Both nodes die at once under the load, then come back: same history, the in-flight regions are reconciled,
    // both serve; the initiator re-issues what was in flight once a path returns.
    await Promise.all([kill9(a), kill9(b)]);
    a.log = '';
    b.log = '';
    await Promise.all([startNode(a), startNode(b)]);
    await until(async () => (await qemuIo(a.url, 'read 0 4k')).ok && (await qemuIo(b.url, 'read 0 4k')).ok, 'both serving after the double restart', 60_000, 250);
    await v.moreWrites(200, 'after the double restart');
    expect((await qemuIo(b.url, 'read -P 0x61 64M 64M')).ok).toBe(true);
    await v.stop();
    await v.checkAll();
    process.stdout.write(`crashes: verifier ${v.summary()}\n`);
    expect(v.problems).toEqual([]);
    await v.close();
    verifier = undefined;
    await Promise.all([stopNode(a), stopNode(b)]);
    const compare = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', a.image, b.image], { timeoutMs: 60_000 });
    expect(compare.stdout).toMatch(/Images are identical/);
  }, 240_000);
});
