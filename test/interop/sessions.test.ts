// Session-level behaviour seen from a raw initiator: SendTargets inside a normal session, session reinstatement
// by ISID, every task management function's answer, and many sessions on many LUNs at once.
import { Op, RawConnection, Session, buildPdu, lunField, login, parseText, read10, scsi, textData, write10 } from '@tandem/testing';
import { MiB, makeTempDir, randomBlock, removeDir } from '../support/files';
import { RunningTarget, startTarget } from '../support/target';

const IQN = 'iqn.2026-11.io.tandem:sessions';
const LUNS = 8;
const maybe = process.env.TANDEM_TEST_TARGET === 'tgt' ? describe.skip : describe;

async function clearUnitAttention(s: Session, lun: number): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const r = await scsi(s, lun, Buffer.alloc(6)); // TEST UNIT READY
    if (r.status === 0) return;
  }
  throw new Error(`LUN ${lun} kept reporting CHECK CONDITION`);
}

async function tmf(s: Session, fn: number, lun: number, rtt = 0xffffffff, refCmdSN = 0): Promise<number> {
  const itt = s.itt++;
  await s.conn.send(buildPdu({ opcode: Op.TaskMgmt, immediate: true, flags: 0x80 | fn, lunOrIsid: lunField(lun), itt, words: [rtt, s.cmdSN, s.expStatSN, refCmdSN, 0] }));
  for (;;) {
    const r = await s.conn.readPdu(5000);
    if (typeof r === 'string') throw new Error(`TMF ${fn}: connection ${r}`);
    if (r.opcode === Op.TaskMgmtResponse && r.itt === itt) return r.bhs[2];
  }
}

maybe('sessions, SendTargets and task management', () => {
  let dir: string;
  let target: RunningTarget;
  const opened: RawConnection[] = [];
  const connect = async () => {
    const c = await RawConnection.connect(target.host, target.port);
    opened.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = makeTempDir();
    target = await startTarget({
      dir,
      targets: [
        { iqn: IQN, luns: Array.from({ length: LUNS }, (_, lun) => ({ lun, size: 8 * MiB, create: true, thin: true })) },
        { iqn: `${IQN}-other`, luns: [{ lun: 0, size: 8 * MiB, create: true, thin: true }] },
      ],
    });
  });
  afterEach(() => opened.splice(0).forEach((c) => c.destroy()));
  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  it('answers SendTargets in a normal session with its own target only', async () => {
    const s = await login(await connect(), { targetName: IQN });
    for (const value of ['', 'All']) {
      const itt = s.itt++;
      await s.conn.send(buildPdu({ opcode: Op.TextRequest, immediate: true, flags: 0x80, itt, words: [0xffffffff, s.cmdSN, s.expStatSN] }, textData({ SendTargets: value })));
      const r = await s.conn.readPdu(5000);
      if (typeof r === 'string') throw new Error(`text: ${r}`);
      expect(r.opcode).toBe(Op.TextResponse);
      const text = r.data.toString('utf8');
      expect(text).toContain(`TargetName=${IQN}\0`);
      expect(text).not.toContain('-other');
      expect(parseText(r.data).TargetAddress).toBe(`127.0.0.1:${target.port},1`);
    }
  });

  it('lists every target in a discovery session', async () => {
    const s = await login(await connect(), { sessionType: 'Discovery' });
    const itt = s.itt++;
    await s.conn.send(buildPdu({ opcode: Op.TextRequest, immediate: true, flags: 0x80, itt, words: [0xffffffff, s.cmdSN, s.expStatSN] }, textData({ SendTargets: 'All' })));
    const r = await s.conn.readPdu(5000);
    if (typeof r === 'string') throw new Error(`text: ${r}`);
    const names = r.data.toString('utf8').split('\0').filter((kv) => kv.startsWith('TargetName='));
    expect(names.sort()).toEqual([`TargetName=${IQN}`, `TargetName=${IQN}-other`]);
  });

  it('reinstates a session logged in again with the same ISID, closing the old one', async () => {
    const isid = Buffer.from([0x80, 0, 0, 0x42, 0x42, 0x01]);
    const first = await login(await connect(), { targetName: IQN, isid });
    const second = await login(await connect(), { targetName: IQN, isid });
    expect(await first.conn.readPdu(5000)).toBe('closed');
    await clearUnitAttention(second, 0);
    const r = await scsi(second, 0, read10(0, 1), { readLength: 512 });
    expect(r.status).toBe(0);
  });

  it('answers each task management function', async () => {
    const s = await login(await connect(), { targetName: IQN });
    await clearUnitAttention(s, 1);
    expect(await tmf(s, 1, 1, 0x7777)).toBe(1); // ABORT TASK of an unknown tag: task does not exist
    expect(await tmf(s, 2, 1)).toBe(0); // ABORT TASK SET
    expect(await tmf(s, 4, 1)).toBe(0); // CLEAR TASK SET
    expect(await tmf(s, 3, 1)).toBe(5); // CLEAR ACA: not supported (NormACA is 0)
    expect(await tmf(s, 8, 1, 0x1234)).toBe(4); // TASK REASSIGN: not supported at ERL 0
    expect(await tmf(s, 5, 200)).toBe(2); // LUN RESET of a LUN that does not exist
    expect(await tmf(s, 5, 1)).toBe(0); // LUN RESET
    const afterReset = await scsi(s, 1, Buffer.alloc(6));
    expect(afterReset.status).toBe(2); // unit attention: reset occurred
    expect(afterReset.sense?.[12]).toBe(0x29);
    expect(await tmf(s, 6, 0)).toBe(0); // TARGET WARM RESET
    expect(await tmf(s, 7, 0)).toBe(0); // TARGET COLD RESET, then the target drops the session
    let end: Awaited<ReturnType<RawConnection['readPdu']>>;
    do end = await s.conn.readPdu(5000);
    while (typeof end !== 'string');
    expect(end).toBe('closed');
  });

  it('serves many sessions on many LUNs at once without mixing data', async () => {
    const sessions = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
      const s = await login(await connect(), { targetName: IQN, isid: Buffer.from([0x80, 0, 0, 0x10, 0, i]) });
      return { s, lun: i % LUNS, lba: 64 * Math.floor(i / LUNS), data: randomBlock(`session-${i}`, 16 * 512) };
    }));
    await Promise.all(sessions.map(async ({ s, lun }) => clearUnitAttention(s, lun)));
    for (let round = 0; round < 5; round++) {
      await Promise.all(sessions.map(async ({ s, lun, lba, data }) => {
        const w = await scsi(s, lun, write10(lba, 16), { writeData: data });
        expect(w.status).toBe(0);
        const r = await scsi(s, lun, read10(lba, 16), { readLength: data.length });
        expect(r.status).toBe(0);
        expect(r.data.equals(data)).toBe(true);
      }));
    }
  });
});
