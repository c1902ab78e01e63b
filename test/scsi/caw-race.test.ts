// COMPARE AND WRITE and WRITE racing on the same LBAs from several sessions: the end state, and every
// outcome, must be explained by some serial order of the operations (CAW is atomic against every writer).
import { RawConnection, Session, login, read10, scsi, write10 } from '@tandem/testing';
import { MiB, makeTempDir, removeDir } from '../support/files';
import { RunningTarget, startTarget } from '../support/target';
import { clearUnitAttentions, compareAndWrite } from '../support/scsiCommands';

const IQN = 'iqn.2026-11.io.tandem:caw-race';
const BLOCKS = 8; // several blocks, so a non-atomic interleaving would leave a torn (mixed) range
const BS = 512;
const SESSIONS = 6;
const OPS_PER_SESSION = 60;
const maybe = process.env.TANDEM_TEST_TARGET === 'tgt' ? describe.skip : describe;

/** Every 8-byte word of the range holds the id of the operation that wrote it. */
function pattern(id: number): Buffer {
  const b = Buffer.alloc(BLOCKS * BS);
  for (let o = 0; o < b.length; o += 8) b.writeBigUInt64BE(BigInt(id), o);
  return b;
}

/** The single id a range holds, or -1 when it is torn. */
function uniformId(b: Buffer): number {
  const first = b.readBigUInt64BE(0);
  for (let o = 8; o < b.length; o += 8) if (b.readBigUInt64BE(o) !== first) return -1;
  return Number(first);
}

maybe('COMPARE AND WRITE racing WRITE', () => {
  let dir: string;
  let target: RunningTarget;
  const conns: RawConnection[] = [];

  beforeAll(async () => {
    dir = makeTempDir();
    target = await startTarget({ dir, targets: [{ iqn: IQN, luns: [{ lun: 0, size: 16 * MiB, create: true, thin: true }] }] });
  });
  afterAll(async () => {
    conns.forEach((c) => c.destroy());
    await target?.stop();
    removeDir(dir);
  });

  it('ends in a state some serial order explains', async () => {
    const sessions: Session[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const c = await RawConnection.connect(target.host, target.port);
      conns.push(c);
      const s = await login(c, { targetName: IQN, isid: Buffer.from([0x80, 0, 0, 0xca, 0x77, i]) });
      await clearUnitAttentions(s, 0);
      sessions.push(s);
    }
    const INITIAL = 1;
    expect((await scsi(sessions[0], 0, write10(0, BLOCKS), { writeData: pattern(INITIAL) })).status).toBe(0);

    const written = new Set<number>([INITIAL]); // ids some operation wrote (successfully)
    const consumed = new Map<number, number>(); // expected id → the CAW that replaced it
    let torn = 0;
    let miscompares = 0;
    let nextId = 2;

    await Promise.all(sessions.map(async (s, si) => {
      for (let k = 0; k < OPS_PER_SESSION; k++) {
        const id = nextId++;
        if ((si + k) % 3 === 0) {
          const w = await scsi(s, 0, write10(0, BLOCKS), { writeData: pattern(id) });
          expect(w.status).toBe(0);
          written.add(id);
          continue;
        }
        const r = await scsi(s, 0, read10(0, BLOCKS), { readLength: BLOCKS * BS });
        const seen = uniformId(r.data);
        if (seen < 0) {
          torn++;
          continue;
        }
        const c = await scsi(s, 0, compareAndWrite(0, BLOCKS), { writeData: Buffer.concat([pattern(seen), pattern(id)]) });
        if (c.status === 0) {
          // Two successful CAWs replacing the same content would mean one of them compared against stale data.
          expect(consumed.has(seen)).toBe(false);
          consumed.set(seen, id);
          written.add(id);
        } else {
          expect(c.status).toBe(2);
          expect(c.sense?.[2]! & 0x0f).toBe(0x0e); // MISCOMPARE
          miscompares++;
        }
      }
    }));

    const final = await scsi(sessions[0], 0, read10(0, BLOCKS), { readLength: BLOCKS * BS });
    const finalId = uniformId(final.data);
    expect(torn).toBe(0);
    expect(finalId).toBeGreaterThan(0); // not torn
    expect(written.has(finalId)).toBe(true); // written by an operation that reported success
    expect(consumed.has(finalId)).toBe(false); // nothing replaced it by CAW after it landed
    for (const [expected] of consumed) expect(written.has(expected)).toBe(true); // every CAW compared against real content
    // Each id is consumed at most once, so successful CAWs form chains behind the writes they replaced:
    // chains in any order, the one ending in finalId last, with the WRITEs placed where they occurred, is a serial order.
    expect(consumed.size).toBeGreaterThan(0);
    expect(miscompares).toBeGreaterThan(0); // the race was real
  });
});
