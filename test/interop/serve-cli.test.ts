// `tandem serve` as an administrator meets it: one clear line and exit code 2 for each kind of bad input,
// SIGTERM that logs initiators out and exits within 5 s, and a restart that serves the same data.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { MiB, makeTempDir, removeDir } from '../support/files';
import { freePort, run } from '@tandem/testing';
import { TANDEM_BIN, startTarget } from '../support/target';
import { describeWithTools } from '../support/tools';

const IQN = 'iqn.2026-11.io.tandem:serve-cli';
const serve = (args: string[]) => run(process.execPath, [TANDEM_BIN, 'serve', ...args], { timeoutMs: 15000 });
const maybe = process.env.TANDEM_TEST_TARGET === 'tgt' ? describe.skip : describe;

maybe('tandem serve: bad input', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
    fs.writeFileSync(path.join(dir, 'small.img'), Buffer.alloc(MiB));
  });
  afterAll(() => removeDir(dir));

  const cases: Array<[string, (d: string, port: number) => string[], RegExp]> = [
    ['a missing image without create', (d, p) => ['--listen', `127.0.0.1:${p}`, '--target', IQN, '--lun', `0=flat:${d}/none.img`], /does not exist.*create/],
    ['a size that does not match the file', (d, p) => ['--listen', `127.0.0.1:${p}`, '--target', IQN, '--lun', `0=flat:${d}/small.img,size=2MiB`], /holds 1048576 bytes but size 2097152/],
    ['a bad sector size', (d, p) => ['--listen', `127.0.0.1:${p}`, '--target', IQN, '--lun', `0=flat:${d}/x.img,size=1MiB,sector=1024,create`], /sector size must be 512 or 4096/],
    ['an invalid target name', (d, p) => ['--listen', `127.0.0.1:${p}`, '--target', 'not-an-iqn', '--lun', `0=flat:${d}/small.img`], /not a valid iSCSI name/],
    ['a CHAP secret that is too short', (d, p) => ['--listen', `127.0.0.1:${p}`, '--target', IQN, '--lun', `0=flat:${d}/small.img`, '--chap', 'u:short'], /at least 12 characters/],
    ['an unknown flag', () => ['--frobnicate'], /unknown option/],
  ];

  test.each(cases)('%s', async (_name, args, message) => {
    const r = await serve(args(dir, await freePort()));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(3);
    expect(fs.existsSync(path.join(dir, 'x.img'))).toBe(false); // nothing half-created
  });

  it('a port already in use', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await serve(['--listen', `127.0.0.1:${port}`, '--target', IQN, '--lun', `0=flat:${dir}/small.img`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
    } finally {
      blocker.close();
    }
  });
});

describeWithTools(['qemu-io'], 'tandem serve: stop and restart', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('exits within 5 s of SIGTERM with a session open, and serves the same data after a restart', async () => {
    const spec = { dir, targets: [{ iqn: IQN, luns: [{ lun: 0, size: 16 * MiB, create: true, thin: true }] }] };
    const first = await startTarget(spec);
    const w = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x3c 1M 2M', first.url(0)], { timeoutMs: 30000 });
    expect(w.code).toBe(0);
    // Keep a session open while the target is told to stop.
    // (it is killed after 8 s: once the target is gone, libiscsi would keep trying to reconnect)
    const open = run('qemu-io', ['-f', 'raw', '-c', 'sleep 4000', '-c', 'read 0 4k', first.url(0)], { timeoutMs: 8000 });
    await new Promise((r) => setTimeout(r, 800));
    const started = Date.now();
    const stopped = await first.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stopped.code).toBe(0);
    expect(stopped.killed).toBe(false);
    await open;

    const second = await startTarget({ ...spec, port: first.port });
    try {
      const r = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x3c 1M 2M', '-c', 'read -P 0 0 1M', second.url(0)], { timeoutMs: 30000 });
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/Pattern verification failed/);
    } finally {
      await second.stop();
    }
  });
});
