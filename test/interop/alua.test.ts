// ALUA seen from a raw initiator: one LU exported through two portal groups (two target port groups), optimized
// through the first and standby through the second, set by the `alua=` LUN option of `tandem serve`.
import * as path from 'path';
import { RawConnection, Session, freePort, login, read10, scsi, ScsiResult } from '@tandem/testing';
import { MiB, makeTempDir, removeDir } from '../support/files';
import { HOST, RunningTarget, startTarget } from '../support/target';

const IQN = 'iqn.2026-11.io.tandem:alua';
const maybe = process.env.TANDEM_TEST_TARGET === 'tgt' ? describe.skip : describe;

function rtpg(extended: boolean): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa3; // MAINTENANCE IN
  cdb[1] = (extended ? 0x20 : 0) | 0x0a; // REPORT TARGET PORT GROUPS
  cdb.writeUInt32BE(1024, 6);
  return cdb;
}

function inquiry(evpd = false, page = 0): Buffer {
  return Buffer.from([0x12, evpd ? 1 : 0, page, 0x01, 0x00, 0]);
}

function sense(r: ScsiResult): [number, number, number] {
  if (!r.sense) return [0, 0, 0];
  const descriptor = (r.sense[0] & 0x7f) >= 0x72;
  return descriptor ? [r.sense[1] & 0x0f, r.sense[2], r.sense[3]] : [r.sense[2] & 0x0f, r.sense[12], r.sense[13]];
}

/** Target port group descriptors: [group, state, supported states, relative target ports]. */
function groups(data: Buffer, extended: boolean): Array<[number, number, number, number[]]> {
  const end = data.readUInt32BE(0) + 4;
  const out: Array<[number, number, number, number[]]> = [];
  for (let at = extended ? 8 : 4; at < end; ) {
    const count = data[at + 7];
    const ports = Array.from({ length: count }, (_, i) => data.readUInt16BE(at + 8 + i * 4 + 2));
    out.push([data.readUInt16BE(at + 2), data[at] & 0x0f, data[at + 1], ports]);
    at += 8 + 4 * count;
  }
  return out;
}

/** Designators of VPD 0x83 by type (4: relative target port, 5: target port group) as 16-bit values. */
function portDesignators(page: Buffer): Record<number, number> {
  const out: Record<number, number> = {};
  for (let at = 4; at + 4 <= page.length; at += 4 + page[at + 3]) {
    const type = page[at + 1] & 0x0f;
    if (type === 4 || type === 5) out[type] = page.readUInt16BE(at + 6);
  }
  return out;
}

/** The first command on a new nexus reports POWER ON; run until it is consumed. */
async function consumingUnitAttention(s: Session, cdb: Buffer, readLength: number): Promise<ScsiResult> {
  for (let i = 0; i < 4; i++) {
    const r = await scsi(s, 0, cdb, { readLength });
    if (!(r.status === 2 && sense(r)[0] === 6)) return r;
  }
  throw new Error('unit attentions kept coming');
}

maybe('ALUA through two portal groups', () => {
  let dir: string;
  let target: RunningTarget;
  let port2: number;
  const opened: RawConnection[] = [];
  const session = async (port: number): Promise<Session> => {
    const c = await RawConnection.connect(HOST, port);
    opened.push(c);
    return login(c, { targetName: IQN });
  };

  beforeAll(async () => {
    dir = makeTempDir();
    port2 = await freePort(HOST);
    target = await startTarget({
      dir,
      // The helper's own target rides on the first portal (tpg 1); the ALUA target is added with its options.
      targets: [{ iqn: `${IQN}-plain`, luns: [{ lun: 0, size: 8 * MiB, create: true, thin: true }] }],
      extraArgs: [
        '--listen', `${HOST}:${port2},tpg=2`,
        '--target', IQN,
        '--lun', `0=flat:${path.join(dir, 'alua.img')},size=16MiB,create,thin,alua=1:optimized/2:standby`,
      ],
    });
  });
  afterEach(() => opened.splice(0).forEach((c) => c.destroy()));
  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  it('reports both target port groups with their states through each portal, in both formats', async () => {
    for (const port of [target.port, port2]) {
      const s = await session(port);
      for (const extended of [false, true]) {
        const r = await consumingUnitAttention(s, rtpg(extended), 1024);
        expect(r.status).toBe(0);
        if (extended) expect(r.data[4]).toBe(0x10);
        // group 1 active/optimized, group 2 standby; T_SUP U_SUP S_SUP AN_SUP AO_SUP; one port each, id = tag
        expect(groups(r.data, extended)).toEqual([
          [1, 0x0, 0x8f, [1]],
          [2, 0x2, 0x8f, [2]],
        ]);
      }
    }
  });

  it('advertises implicit ALUA and names the port and group in VPD 0x83 on each portal', async () => {
    for (const [port, group] of [[target.port, 1], [port2, 2]]) {
      const s = await session(port);
      const std = await scsi(s, 0, inquiry(), { readLength: 256 });
      expect(std.status).toBe(0);
      expect(std.data[5] & 0x30).toBe(0x10); // TPGS 01b
      const vpd = await scsi(s, 0, inquiry(true, 0x83), { readLength: 256 });
      expect(vpd.status).toBe(0);
      expect(portDesignators(vpd.data)).toEqual({ 4: group, 5: group });
    }
  });

  it('refuses media access through the standby port with NOT READY 04/0B, and serves it through the optimized one', async () => {
    const standby = await session(port2);
    const r = await consumingUnitAttention(standby, read10(0, 1), 512);
    expect(r.status).toBe(2);
    expect(sense(r)).toEqual([0x2, 0x04, 0x0b]);
    const tur = await scsi(standby, 0, Buffer.alloc(6));
    expect(sense(tur)).toEqual([0x2, 0x04, 0x0b]);
    const inq = await scsi(standby, 0, inquiry(), { readLength: 96 });
    expect(inq.status).toBe(0);
    expect(inq.data.subarray(8, 14).toString()).toBe('TANDEM');

    const optimized = await session(target.port);
    const ok = await consumingUnitAttention(optimized, read10(0, 1), 512);
    expect(ok.status).toBe(0);
    expect(ok.data.length).toBe(512);
  });
});
