// Keepalive: the target pings idle initiators with NOP-In and drops those that never answer,
// while a session that answers its pings stays up and keeps working.
import { Op, RawConnection, login, nopOutPdu, readCapacity10, scsi } from '@tandem/testing';
import { MiB, makeTempDir, removeDir } from '../support/files';
import { RunningTarget, startTarget } from '../support/target';

const IQN = 'iqn.2026-11.io.tandem:keepalive';

const maybe = process.env.TANDEM_TEST_TARGET === 'tgt' ? describe.skip : describe;

maybe('NOP-In keepalive', () => {
  let dir: string;
  let target: RunningTarget;

  beforeAll(async () => {
    dir = makeTempDir();
    target = await startTarget({
      dir,
      targets: [{ iqn: IQN, luns: [{ lun: 0, size: 16 * MiB, create: true, thin: true }] }],
      extraArgs: ['--nop-interval', '1', '--nop-timeout', '2'],
    });
  });
  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  it('pings an idle initiator and drops it when it never answers', async () => {
    const conn = await RawConnection.connect(target.host, target.port);
    try {
      await login(conn, { targetName: IQN });
      const ping = await conn.readPdu(4000);
      expect(ping).not.toBe('timeout');
      expect(ping).not.toBe('closed');
      if (typeof ping === 'string') return;
      expect(ping.opcode).toBe(Op.NopIn);
      expect(ping.bhs.readUInt32BE(16)).toBe(0xffffffff); // target-initiated: ITT reserved
      expect(ping.bhs.readUInt32BE(20)).not.toBe(0xffffffff); // TTT asks for an answer
      // Never answer: the connection must be closed within interval + timeout (+ slack).
      let outcome: Awaited<ReturnType<RawConnection['readPdu']>> = 'timeout';
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        outcome = await conn.readPdu(deadline - Date.now());
        if (outcome === 'closed' || outcome === 'timeout') break;
      }
      expect(outcome).toBe('closed');
    } finally {
      conn.destroy();
    }
  });

  it('keeps a session that answers its pings', async () => {
    const conn = await RawConnection.connect(target.host, target.port);
    try {
      const session = await login(conn, { targetName: IQN });
      let answered = 0;
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const pdu = await conn.readPdu(until - Date.now());
        if (pdu === 'closed') throw new Error('target closed a session that answered its pings');
        if (pdu === 'timeout') break;
        if (pdu.opcode === Op.NopIn && pdu.bhs.readUInt32BE(16) === 0xffffffff) {
          const answer = nopOutPdu({ itt: 0xffffffff, cmdSN: session.cmdSN, expStatSN: pdu.bhs.readUInt32BE(24), immediate: true });
          answer.writeUInt32BE(pdu.bhs.readUInt32BE(20), 20); // echo the TTT
          await conn.send(answer);
          answered++;
        }
      }
      expect(answered).toBeGreaterThanOrEqual(2);
      // The first command of a new I_T nexus reports POWER ON (unit attention); initiators retry it.
      let r = await scsi(session, 0, readCapacity10(), { readLength: 8 });
      if (r.status === 2) {
        expect(r.sense?.[2]! & 0x0f).toBe(0x06);
        r = await scsi(session, 0, readCapacity10(), { readLength: 8 });
      }
      expect(r.status).toBe(0);
      expect(r.data.readUInt32BE(4)).toBe(512);
    } finally {
      conn.destroy();
    }
  });
});
