// MPIO against the real target: one LU through two portal groups of `tandem serve`, each reached through a TCP
// proxy the test can cut, black-hole and restore. Policies, ALUA preference, identity check, failover without an
// error to the caller, reconnection, and the I/O deadline.
import { randomBytes } from 'crypto';
import * as path from 'path';
import { read16 } from './cdb';
import { FailoverEvent, IdentityMismatchError, MultipathDevice, MultipathOptions, NoPathError, PathStateEvent } from './multipathDevice';
import { ChildTarget, HOST, makeTempDir, removeDir, sleep, startTandemServe } from './tandemTarget.spec-helper';
import { freePort, until } from '@tandem/testing';
import { TcpProxy } from './tcpProxy.spec-helper';
import { runWorkload } from './workload';

jest.setTimeout(180_000); // child targets, proxies and waits bounded by condition (up to 60 s each on a busy machine)

const MP = 'iqn.2026-11.io.tandem:initiator-mp';
const ALUA = 'iqn.2026-11.io.tandem:initiator-alua';
const NONOPT = 'iqn.2026-11.io.tandem:initiator-nonopt';

describe('MultipathDevice over two portal groups of tandem serve', () => {
  let dir: string;
  let target: ChildTarget;
  const ports: number[] = [];
  const proxies: TcpProxy[] = [];
  const devices: MultipathDevice[] = [];

  const url = (i: number, iqn = MP, lun = 0) => `iscsi://${HOST}:${proxies[i].port}/${iqn}/${lun}`;
  const open = async (urls: string[], o: MultipathOptions = {}) => {
    const d = await MultipathDevice.open(urls, { reconnectInitialMs: 50, reconnectMaxMs: 400, commandTimeoutMs: 3000, ioDeadlineMs: 15000, ...o });
    devices.push(d);
    return d;
  };
  const commands = (d: MultipathDevice) => d.paths().map((p) => p.commands);
  const delta = (before: number[], after: number[]) => after.map((n, i) => n - before[i]);

  beforeAll(async () => {
    dir = makeTempDir();
    ports.push(await freePort(), await freePort());
    target = await startTandemServe([
      '--listen', `${HOST}:${ports[0]},tpg=1`, '--listen', `${HOST}:${ports[1]},tpg=2`,
      '--target', MP,
      '--lun', `0=flat:${path.join(dir, 'mp0.img')},size=64MiB,create`,
      '--lun', `1=flat:${path.join(dir, 'mp1.img')},size=64MiB,create`,
      '--target', ALUA, '--lun', `0=flat:${path.join(dir, 'alua.img')},size=16MiB,create,alua=1:optimized/2:standby`,
      '--target', NONOPT, '--lun', `0=flat:${path.join(dir, 'nonopt.img')},size=16MiB,create,alua=1:non-optimized/2:optimized`,
    ], dir);
    for (const p of ports) proxies.push(await TcpProxy.start(p));
  });
  afterEach(async () => {
    for (const p of proxies) {
      p.resume();
      p.restore();
    }
    await Promise.all(devices.splice(0).map((d) => d.close(1000)));
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await target?.stop();
    removeDir(dir);
  });

  it('opens both paths to the LU, with their port groups and ALUA states', async () => {
    const d = await open([url(0), url(1)]);
    expect(d.paths()).toMatchObject([
      { index: 0, state: 'up', access: 'active/optimized', usable: true, targetPortGroup: 1 },
      { index: 1, state: 'up', access: 'active/optimized', usable: true, targetPortGroup: 2 },
    ]);
    expect(d.blockSize).toBe(512);
    expect(d.blockCount).toBe(131072);
  });

  it('round-robin rotates the commands over the paths', async () => {
    const d = await open([url(0), url(1)], { policy: 'round-robin' });
    const before = commands(d);
    for (let i = 0; i < 100; i++) await d.read(i * 8, 8);
    expect(delta(before, commands(d))).toEqual([50, 50]);
    const concurrent = commands(d);
    await Promise.all(Array.from({ length: 64 }, (_, i) => d.read(i * 8, 8)));
    expect(delta(concurrent, commands(d))).toEqual([32, 32]);
  });

  it('least-queue-depth sends commands to the idle path', async () => {
    const d = await open([url(0), url(1)], { policy: 'least-queue-depth', commandTimeoutMs: 20000 });
    await d.read(0, 8);
    await d.read(0, 8);
    // Hold four commands in flight on path 0 (its proxy holds the bytes), then issue I/O through the device.
    proxies[0].pause();
    const stuck = Array.from({ length: 4 }, (_, i) => d.sessionOf(0)!.command(0, read16(i * 8, 8), { readLength: 4096 }));
    await until(() => d.paths()[0].inFlight === 4, 'four commands in flight on path 0');
    const before = commands(d);
    for (let i = 0; i < 20; i++) await d.read(i * 8, 8);
    expect(delta(before, commands(d))).toEqual([0, 20]);
    proxies[0].resume();
    expect((await Promise.all(stuck)).every((r) => r.status === 0)).toBe(true);
    // With equal queues the load spreads.
    const spread = commands(d);
    await Promise.all(Array.from({ length: 64 }, (_, i) => d.read(i * 8, 8)));
    const moved = delta(spread, commands(d));
    expect(moved[0]).toBeGreaterThan(0);
    expect(moved[1]).toBeGreaterThan(0);
  });

  it('failover keeps to the first usable path, moves when it fails, and fails back when it returns', async () => {
    const d = await open([url(0), url(1)], { policy: 'failover' });
    const failovers: FailoverEvent[] = [];
    d.on('failover', (e: FailoverEvent) => failovers.push(e));
    let before = commands(d);
    await Promise.all(Array.from({ length: 50 }, (_, i) => d.read(i * 8, 8)));
    expect(delta(before, commands(d))).toEqual([50, 0]);

    proxies[0].cut();
    before = commands(d);
    for (let i = 0; i < 20; i++) await d.read(i * 8, 8);
    expect(delta(before, commands(d))).toEqual([0, 20]);
    expect(d.paths()[0].state).not.toBe('up');

    proxies[0].restore();
    await until(() => d.paths()[0].state === 'up', 'path 0 to reconnect');
    before = commands(d);
    for (let i = 0; i < 20; i++) await d.read(i * 8, 8);
    expect(delta(before, commands(d))).toEqual([20, 0]);
    expect(d.paths()[0].reconnects).toBe(1);
  });

  it('failover with manual failback stays on the path it moved to', async () => {
    const d = await open([url(0), url(1)], { policy: 'failover', failback: 'manual' });
    await d.read(0, 8);
    proxies[0].cut();
    await d.read(0, 8);
    proxies[0].restore();
    await until(() => d.paths()[0].state === 'up', 'path 0 to reconnect');
    const before = commands(d);
    for (let i = 0; i < 10; i++) await d.read(i * 8, 8);
    expect(delta(before, commands(d))).toEqual([0, 10]);
  });

  it('never sends I/O to a standby path', async () => {
    const d = await open([url(0, ALUA), url(1, ALUA)], { policy: 'round-robin' });
    expect(d.paths()).toMatchObject([
      { access: 'active/optimized', usable: true },
      { state: 'up', access: 'standby', usable: false },
    ]);
    const before = commands(d);
    await Promise.all(Array.from({ length: 40 }, (_, i) => d.read(i * 8, 8)));
    await d.write(0, randomBytes(4096));
    expect(delta(before, commands(d))).toEqual([41, 0]);
  });

  it('prefers the active/optimized path over an active/non-optimized one listed first', async () => {
    const d = await open([url(0, NONOPT), url(1, NONOPT)], { policy: 'failover' });
    expect(d.paths().map((p) => p.access)).toEqual(['active/non-optimized', 'active/optimized']);
    const before = commands(d);
    for (let i = 0; i < 10; i++) await d.read(i * 8, 8);
    expect(delta(before, commands(d))).toEqual([0, 10]);
    // With the optimized path gone, the non-optimized one serves.
    proxies[1].cut();
    await d.read(0, 8);
    expect(delta(before, commands(d))).toEqual([1, 10]);
  });

  it('refuses paths that present different LUs', async () => {
    await expect(MultipathDevice.open([url(0, MP, 0), url(1, MP, 1)])).rejects.toThrow(IdentityMismatchError);
    await expect(MultipathDevice.open([url(0, MP, 0), url(1, MP, 1)])).rejects.toThrow(/do not present the same LU/);
  });

  it('keeps I/O going without an error when a path is cut under load, and reconnects it when it returns', async () => {
    const d = await open([url(0), url(1)], { policy: 'round-robin' });
    const states: PathStateEvent[] = [];
    const failovers: FailoverEvent[] = [];
    d.on('path-state', (e: PathStateEvent) => states.push(e));
    d.on('failover', (e: FailoverEvent) => failovers.push(e));
    // Runs until path 0 is back (60 s only bounds it), not for a fixed 3 s a busy machine could spend before the cut.
    const stop = new AbortController();
    let ended = false;
    const run = runWorkload(d, { pattern: 'randwrite', blockSize: 4096, queueDepth: 16, durationMs: 60_000, signal: stop.signal }).finally(() => (ended = true));
    await sleep(800);
    proxies[0].cut();
    await sleep(1000);
    proxies[0].restore();
    await until(() => d.paths()[0].state === 'up' || ended, 'path 0 to reconnect under I/O', 60_000);
    stop.abort();
    const result = await run;
    expect(result.error).toBeUndefined();
    expect(result.errors).toBe(0);
    expect(result.ios).toBeGreaterThan(100);
    await until(() => d.paths()[0].state === 'up', 'path 0 to reconnect');
    const p0 = d.paths()[0];
    expect(p0.reconnects).toBeGreaterThanOrEqual(1);
    expect(p0.errors).toBeGreaterThan(0);
    expect(p0.failovers).toBe(p0.errors);
    expect(states.map((e) => `${e.path.index}:${e.to}`)).toContain('0:failed');
    expect(failovers.length).toBeGreaterThanOrEqual(1);
    console.log(`failover #${failovers[0].from.index} → #${failovers[0].to.index}: I/O resumed ${failovers[0].elapsedMs} ms after the path failed; `
      + `I/Os ${result.ios}, per path ${d.paths().map((p) => p.commands).join('/')}`);
    const before = commands(d);
    for (let i = 0; i < 10; i++) await d.read(i * 8, 8);
    expect(delta(before, commands(d))).toEqual([5, 5]);
  });

  it('writes made across a failover read back intact', async () => {
    const d = await open([url(0), url(1)], { policy: 'least-queue-depth' });
    const blocks = Array.from({ length: 128 }, () => randomBytes(65536));
    const lba0 = 40000;
    let written = 0;
    const writer = (async () => {
      const queue = blocks.map((b, i) => async () => {
        await d.write(lba0 + i * 128, b);
        written++;
      });
      const workers = Array.from({ length: 8 }, async () => {
        for (let job = queue.shift(); job; job = queue.shift()) await job();
      });
      await Promise.all(workers);
    })();
    await until(() => written >= 20, 'some writes done');
    proxies[1].cut();
    await writer;
    for (let i = 0; i < blocks.length; i++) expect((await d.read(lba0 + i * 128, 128)).equals(blocks[i])).toBe(true);
  });

  it('moves the commands of a black-holed path after the command timeout', async () => {
    const d = await open([url(0), url(1)], { policy: 'round-robin', commandTimeoutMs: 800 });
    proxies[0].pause();
    const started = Date.now();
    for (let i = 0; i < 10; i++) await d.read(i * 8, 8);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(d.paths()[0].lastError ?? '').toMatch(/timed out|ping|login/);
    expect(d.paths()[0].errors).toBe(1);
    proxies[0].resume();
    await until(() => d.paths()[0].state === 'up', 'path 0 to reconnect after the black hole');
  });

  it('fails a command to the caller only once the I/O deadline passes with no path', async () => {
    const d = await open([url(0), url(1)], { ioDeadlineMs: 1200 });
    // The second half on its own device with the helper's 15 s deadline: 1.2 s left a busy machine ~0.4 s for the
    // sleep, the reconnect back-off and a login.
    const returning = await open([url(0), url(1)]);
    proxies[0].cut();
    proxies[1].cut();
    const started = Date.now();
    await expect(d.read(0, 8)).rejects.toThrow(NoPathError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1100);
    // The behaviour is a time bound: far below the 30 s default deadline, with room for timers late on a busy machine.
    expect(elapsed).toBeLessThan(15_000);

    // A path that returns within the deadline completes the command.
    const pending = returning.read(0, 8);
    await sleep(400);
    proxies[1].restore();
    expect((await pending).length).toBe(4096);
    expect(returning.paths()[1].state).toBe('up');
  });
});
