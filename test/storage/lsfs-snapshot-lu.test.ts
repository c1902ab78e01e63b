// An LSFS snapshot exported as a read-only LU next to its live device, through a real `tandem serve`: snapshots
// taken while the store is served (through the admin socket), the snapshot LU reads the old data while the live LU
// has the new, writes to it fail with DATA PROTECT / WRITE PROTECTED, MODE SENSE reports WP, and a snapshot that
// is exported cannot be deleted.
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { freePort, login, RawConnection, read10, run, scsi, Session, spawnTracked, stopChild, until, write10 } from '@tandem/testing';
import { makeTempDir, removeDir } from '../support/files';
import { TANDEM_BIN } from '../support/target';
import { clearUnitAttentions } from '../support/scsiCommands';

const IQN = 'iqn.2026-11.io.tandem:lsfs-snap';
const BS = 512;
const BLOCKS = 16;

const filled = (byte: number) => Buffer.alloc(BLOCKS * BS, byte);

describe('LSFS snapshot exported as a read-only LU', () => {
  let dir: string;
  let store: string;
  let socket: string;
  let port: number;
  let serve: ChildProcess | undefined;
  const conns: RawConnection[] = [];

  const start = async (luns: string[]) => {
    let log = '';
    serve = spawnTracked(process.execPath, [TANDEM_BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--target', IQN, ...luns.flatMap((l) => ['--lun', l]), '--admin-socket', socket]);
    serve.stdout?.setEncoding('utf8').on('data', (d: string) => (log += d));
    serve.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
    await until(() => /"msg":"ready"/.test(log) || serve?.exitCode !== null, 'tandem serve ready', 20_000);
    if (!/"msg":"ready"/.test(log)) throw new Error(`tandem serve did not start:\n${log}`);
  };
  const session = async (isidByte: number): Promise<Session> => {
    const c = await RawConnection.connect('127.0.0.1', port);
    conns.push(c);
    const s = await login(c, { targetName: IQN, isid: Buffer.from([0x80, 0, 0, 0x5e, 0x70, isidByte]) });
    return s;
  };
  const tandem = (...args: string[]) => run(process.execPath, [TANDEM_BIN, ...args], { timeoutMs: 30_000 });

  beforeAll(async () => {
    dir = makeTempDir();
    store = path.join(dir, 'vol.lsfs');
    socket = path.join(dir, 'admin.sock');
    port = await freePort();
  });
  afterAll(async () => {
    conns.forEach((c) => c.destroy());
    await stopChild(serve, 5000);
    removeDir(dir);
  });

  it('reads the data of its moment, refuses writes, and cannot be deleted while exported', async () => {
    await start([`0=lsfs:${store},size=64MiB,create`]);
    let s = await session(1);
    await clearUnitAttentions(s, 0);
    expect((await scsi(s, 0, write10(100, BLOCKS), { writeData: filled(0x11) })).status).toBe(0);
    // Snapshot of the served store, through the node's admin socket.
    const created = await tandem('lsfs', 'snapshot', 'create', store, 'before', '--socket', socket);
    expect(created.stdout).toMatch(/"name":"before"/);
    expect((await scsi(s, 0, write10(100, BLOCKS), { writeData: filled(0x22) })).status).toBe(0);
    // Without the socket the CLI says the store is busy and how to reach it.
    const busy = await tandem('lsfs', 'snapshot', 'list', store);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/--socket/);

    // The node again, the live device on LUN 0 and the snapshot on LUN 1.
    conns.forEach((c) => c.destroy());
    await stopChild(serve, 5000);
    await start([`0=lsfs:${store}`, `1=lsfs:${store},snapshot=before`]);
    s = await session(2);
    await clearUnitAttentions(s, 0);
    await clearUnitAttentions(s, 1);
    const live = await scsi(s, 0, read10(100, BLOCKS), { readLength: BLOCKS * BS });
    expect(live.data.equals(filled(0x22))).toBe(true);
    const snap = await scsi(s, 1, read10(100, BLOCKS), { readLength: BLOCKS * BS });
    expect(snap.status).toBe(0);
    expect(snap.data.equals(filled(0x11))).toBe(true);

    // Write-protected: DATA PROTECT / WRITE PROTECTED, and WP in MODE SENSE (10)'s header.
    const refused = await scsi(s, 1, write10(100, 1), { writeData: Buffer.alloc(BS, 0x33) });
    expect(refused.status).toBe(2);
    expect(refused.sense![2] & 0x0f).toBe(0x07);
    expect([refused.sense![12], refused.sense![13]]).toEqual([0x27, 0x00]);
    const modeSense10 = Buffer.from([0x5a, 0x00, 0x3f, 0, 0, 0, 0, 0x00, 0xff, 0]);
    const ms = await scsi(s, 1, modeSense10, { readLength: 255 });
    expect(ms.status).toBe(0);
    expect(ms.data[3] & 0x80).toBe(0x80);
    const msLive = await scsi(s, 0, modeSense10, { readLength: 255 });
    expect(msLive.data[3] & 0x80).toBe(0);
    // The snapshot still reads the old data; the live LU takes writes as before.
    expect((await scsi(s, 1, read10(100, BLOCKS), { readLength: BLOCKS * BS })).data.equals(filled(0x11))).toBe(true);
    expect((await scsi(s, 0, write10(100, 1), { writeData: Buffer.alloc(BS, 0x44) })).status).toBe(0);

    // Exported: deleting it is refused with a reason; listing works through the socket.
    const del = await tandem('lsfs', 'snapshot', 'delete', store, 'before', '--socket', socket);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toMatch(/open/);
    const list = await tandem('lsfs', 'snapshot', 'list', store, '--socket', socket);
    expect(list.stdout).toMatch(/^before\t/m);
  }, 90_000);
});
