import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { silentLogger } from '@tandem/iscsi';
import { RawConnection, Session, login, logout, read10, readCapacity10, scsi, write10 } from '@tandem/testing';
import { parseHostConfig } from './hostConfig';
import { TargetHost } from './targetHost';

const IQN = 'iqn.2026-11.io.tandem:live';
const MiB = 1 << 20;
const REPORT_LUNS = Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);

/** LUN numbers in a REPORT LUNS answer (flat/peripheral addressing). */
const reportedLuns = (data: Buffer): number[] => {
  const out: number[] = [];
  for (let off = 8; off + 8 <= 8 + data.readUInt32BE(0) && off + 8 <= data.length; off += 8) out.push(data.readUInt16BE(off) & 0x3fff);
  return out;
};

/** Sends a command until the unit attentions queued for this nexus are consumed; returns the sense codes seen. */
async function drainUnitAttentions(s: Session, lun: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await scsi(s, lun, Buffer.from([0, 0, 0, 0, 0, 0]));
    if (r.status === 0) return seen;
    seen.push(`${r.sense![12].toString(16)}/${r.sense![13].toString(16)}`);
  }
  return seen;
}

describe('TargetHost live changes', () => {
  let dir: string;
  let host: TargetHost;
  let session: Session | null = null;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-live-'));
    host = await TargetHost.start(
      { portals: [{ host: '127.0.0.1', port: 0 }], targets: [{ name: IQN, luns: [{ lun: 0, store: { kind: 'flat', path: path.join(dir, 'a.img'), sizeBytes: MiB, create: true, thin: true } }] }] },
      silentLogger,
    );
    const conn = await RawConnection.connect('127.0.0.1', host.server.listening()[0].port);
    session = await login(conn, { targetName: IQN });
    await drainUnitAttentions(session, 0);
  });

  afterEach(async () => {
    if (session) await logout(session).catch(() => undefined);
    session?.conn.destroy();
    session = null;
    await host.stop(200);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds a LUN to the running target; the open session sees REPORTED LUNS DATA HAS CHANGED and goes on', async () => {
    const added = await host.addLun(IQN, { lun: 3, deviceId: 'dev-b', store: { kind: 'flat', path: path.join(dir, 'b.img'), sizeBytes: 2 * MiB, create: true, thin: true } });
    expect(added.store.sizeBytes).toBe(2 * MiB);
    expect(await drainUnitAttentions(session!, 0)).toEqual(['3f/e']);
    const luns = await scsi(session!, 0, REPORT_LUNS, { readLength: 256 });
    expect(reportedLuns(luns.data)).toEqual([0, 3]);
    const data = Buffer.alloc(512, 0x5a);
    expect((await scsi(session!, 3, write10(7, 1), { writeData: data })).status).toBe(0);
    expect((await scsi(session!, 3, read10(7, 1), { readLength: 512 })).data).toEqual(data);
    expect(host.config.targets[0].luns.map((l) => [l.lun, l.store.create, l.store.sizeBytes])).toEqual([[0, false, undefined], [3, false, undefined]]);
    expect(() => parseHostConfig(host.config)).not.toThrow();
    await expect(host.addLun(IQN, { lun: 3, store: { kind: 'flat', path: path.join(dir, 'c.img'), sizeBytes: MiB, create: true } })).rejects.toThrow(/already in use/);
    expect(fs.existsSync(path.join(dir, 'c.img'))).toBe(false);
    expect(host.freeLun(IQN)).toBe(1);
  });

  it('removes a LUN live: its store is closed, the image kept, the other LUN keeps serving', async () => {
    const b = await host.addLun(IQN, { lun: 1, store: { kind: 'flat', path: path.join(dir, 'b.img'), sizeBytes: MiB, create: true, thin: true } });
    await drainUnitAttentions(session!, 0);
    expect(await host.removeLun(IQN, 1)).toBe(true);
    expect(await host.removeLun(IQN, 1)).toBe(false);
    await expect(b.store.read(Buffer.alloc(512), 0, 512, 0)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(fs.existsSync(path.join(dir, 'b.img'))).toBe(true);
    expect(await drainUnitAttentions(session!, 0)).toEqual(['3f/e']);
    expect((await scsi(session!, 0, read10(0, 1), { readLength: 512 })).status).toBe(0);
    const gone = await scsi(session!, 1, read10(0, 1), { readLength: 512 });
    expect(gone.status).toBe(2);
    expect(host.luns.map((l) => l.lun)).toEqual([0]);
  });

  it('grows a LUN online (CAPACITY DATA HAS CHANGED) and refuses to shrink', async () => {
    expect(await host.resizeLun(IQN, 0, 4 * MiB)).toBe(MiB);
    expect(fs.statSync(path.join(dir, 'a.img')).size).toBe(4 * MiB);
    expect(await drainUnitAttentions(session!, 0)).toEqual(['2a/9']);
    const cap = await scsi(session!, 0, readCapacity10(), { readLength: 8 });
    expect(cap.data.readUInt32BE(0) + 1).toBe((4 * MiB) / 512);
    expect(await host.resizeLun(IQN, 0, 4 * MiB)).toBe(4 * MiB);
    await expect(host.resizeLun(IQN, 0, MiB)).rejects.toThrow(/grow only/);
    await expect(host.resizeLun(IQN, 9, 8 * MiB)).rejects.toThrow(/no LUN 9/);
  });

  it('adds and removes whole targets without touching the other target’s session', async () => {
    const other = 'iqn.2026-11.io.tandem:other';
    await host.addTarget({ name: other, luns: [{ lun: 0, store: { kind: 'flat', path: path.join(dir, 'o.img'), sizeBytes: MiB, create: true, thin: true } }] });
    await expect(host.addTarget({ name: other, luns: [{ lun: 0, store: { kind: 'flat', path: path.join(dir, 'p.img'), sizeBytes: MiB, create: true } }] })).rejects.toThrow(/already exists/);
    const conn = await RawConnection.connect('127.0.0.1', host.server.listening()[0].port);
    const otherSession = await login(conn, { targetName: other });
    await drainUnitAttentions(otherSession, 0);
    expect((await scsi(otherSession, 0, read10(0, 1), { readLength: 512 })).status).toBe(0);
    expect(host.config.targets.map((t) => t.name)).toEqual([IQN, other]);

    expect(await host.removeTarget(other)).toBe(true);
    expect(await otherSession.conn.finishAndWaitClose(2000)).toBe(true);
    expect(host.luns.map((l) => l.target)).toEqual([IQN]);
    expect((await scsi(session!, 0, read10(0, 1), { readLength: 512 })).status).toBe(0);
    expect(host.server.stats().sessions).toBe(1);
  });

  it('counts commands, bytes and latency per LU', async () => {
    const stats = host.luns[0].stats;
    const before = stats.takeSnapshot();
    await scsi(session!, 0, write10(0, 8), { writeData: Buffer.alloc(4096, 1) });
    await scsi(session!, 0, read10(0, 2), { readLength: 1024 });
    await scsi(session!, 0, read10(0, 1), { readLength: 512 });
    const after = stats.takeSnapshot();
    expect(after.writeCommands - before.writeCommands).toBe(1);
    expect(after.readCommands - before.readCommands).toBe(2);
    expect(after.writeBytes - before.writeBytes).toBe(4096);
    expect(after.readBytes - before.readBytes).toBe(1536);
    expect(after.readMicros).toBeGreaterThan(0);
    expect(after.inFlight).toBe(0);
    expect(after.peakInFlight).toBeGreaterThanOrEqual(0);
  });
});
