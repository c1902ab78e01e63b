// Live ALUA changes: the target (TargetHost, the code `tandem serve` runs, in a child process) switches the access
// states of its two port groups while the multipath device works; I/O follows the optimized path with no error.
import * as path from 'path';
import { MultipathDevice, PathStateEvent } from './multipathDevice';
import { ChildTarget, HOST, MiB, makeTempDir, removeDir, sleep, startScriptedTarget } from './tandemTarget.spec-helper';
import { freePort, until } from '@tandem/testing';
import { runWorkload } from './workload';

jest.setTimeout(180_000); // a child target, multipath sessions and waits bounded by condition (up to 60 s each on a busy machine)

const IQN = 'iqn.2026-11.io.tandem:initiator-alua-live';

describe('MultipathDevice following live ALUA changes', () => {
  let dir: string;
  let target: ChildTarget;
  let ports: number[];
  let device: MultipathDevice | undefined;
  const alua = (group: number, state: string) => target.command(`alua ${IQN} 0 ${group} ${state}`);
  const urls = () => ports.map((p) => `iscsi://${HOST}:${p}/${IQN}/0`);
  const commands = (d: MultipathDevice) => d.paths().map((p) => p.commands);

  beforeAll(async () => {
    dir = makeTempDir();
    ports = [await freePort(), await freePort()];
    target = await startScriptedTarget({
      portals: [{ host: HOST, port: ports[0], portalGroupTag: 1 }, { host: HOST, port: ports[1], portalGroupTag: 2 }],
      targets: [{
        name: IQN,
        luns: [{ lun: 0, alua: { 1: 'optimized', 2: 'standby' }, store: { kind: 'flat', path: path.join(dir, 'live.img'), sizeBytes: 16 * MiB, create: true } }],
      }],
    }, dir);
  });
  beforeEach(async () => {
    await alua(1, 'optimized');
    await alua(2, 'standby');
  });
  afterEach(async () => {
    await device?.close(1000);
    device = undefined;
  });
  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  it('moves I/O to the other port group when the target swaps optimized and standby under load', async () => {
    device = await MultipathDevice.open(urls(), { policy: 'round-robin', aluaRefreshMs: 0 });
    const d = device;
    const changes: PathStateEvent[] = [];
    d.on('access-state', (e: PathStateEvent) => changes.push(e));
    expect(d.paths().map((p) => p.access)).toEqual(['active/optimized', 'standby']);
    // The workload runs until its I/O has seen the swap (or it stops on an error), not for a fixed 2 s that a busy
    // machine could use up before the swap even reaches the target; 60 s is only its outer bound.
    const stop = new AbortController();
    let ended = false;
    const swapped = () => d.paths()[0].access === 'standby' && d.paths()[1].access === 'active/optimized';
    const run = runWorkload(d, { pattern: 'randread', blockSize: 4096, queueDepth: 8, durationMs: 60_000, signal: stop.signal }).finally(() => (ended = true));
    await sleep(500);
    await alua(2, 'optimized');
    await alua(1, 'standby');
    await until(() => swapped() || ended, 'the workload to see the swap', 60_000);
    stop.abort();
    const result = await run;
    expect(result.error).toBeUndefined();
    expect(result.errors).toBe(0);
    await until(swapped, 'the swap to be seen');
    expect(changes.some((e) => e.path.index === 1 && e.to === 'active/optimized')).toBe(true);
    const before = commands(d);
    for (let i = 0; i < 10; i++) await d.read(i * 8, 8);
    expect(commands(d).map((n, i) => n - before[i])).toEqual([0, 10]);
  });

  it('holds I/O while every path is transitioning and completes it once one turns active', async () => {
    device = await MultipathDevice.open(urls(), { policy: 'failover', aluaRefreshMs: 0, transitionRetryMs: 100 });
    const d = device;
    await alua(1, 'transitioning');
    const started = Date.now();
    const pending = d.read(0, 8);
    await sleep(600);
    await alua(2, 'optimized');
    expect((await pending).length).toBe(4096);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(d.paths().map((p) => p.access)).toEqual(['transitioning', 'active/optimized']);
  });

  it('notices a change without any I/O through its refresh timer', async () => {
    device = await MultipathDevice.open(urls(), { policy: 'failover', aluaRefreshMs: 200 });
    const d = device;
    await alua(2, 'non-optimized');
    await until(() => d.paths()[1].access === 'active/non-optimized', 'the timer to pick up the new state', 30_000);
    await alua(1, 'unavailable');
    await until(() => d.paths()[0].access === 'unavailable', 'path 0 unavailable', 30_000);
    const before = commands(d);
    await d.read(0, 8);
    expect(commands(d).map((n, i) => n - before[i])).toEqual([0, 1]);
  });
});
