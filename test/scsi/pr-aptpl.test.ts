// Persistent reservations across a target restart, with two initiators: kept when APTPL was set, gone when not.
import { RawConnection, Session, login, scsi, write10 } from '@tandem/testing';
import { MiB, makeTempDir, removeDir } from '../support/files';
import { RunningTarget, startTarget } from '../support/target';
import { PrType, clearUnitAttentions, persistentReserveOut, readKeys, readReservation } from '../support/scsiCommands';

const IQN = 'iqn.2026-11.io.tandem:pr-aptpl';
const KEY_A = 0xa1a1n;
const KEY_B = 0xb2b2n;
const RESERVATION_CONFLICT = 0x18;
const maybe = process.env.TANDEM_TEST_TARGET === 'tgt' ? describe.skip : describe;

maybe('persistent reservations across a restart', () => {
  let dir: string;
  let target: RunningTarget | undefined;
  let port: number | undefined;
  const conns: RawConnection[] = [];

  const start = async () => {
    target = await startTarget({ dir, port, targets: [{ iqn: IQN, luns: [{ lun: 0, size: 16 * MiB, create: true, thin: true }] }] });
    port = target.port;
  };
  const initiator = async (name: string): Promise<Session> => {
    const c = await RawConnection.connect(target!.host, target!.port);
    conns.push(c);
    // Registrations belong to the I_T nexus, i.e. initiator name + ISID: a host keeps its ISID across logins.
    const isid = Buffer.from([0x80, 0, 0, 0x50, 0x52, name.charCodeAt(0)]);
    const s = await login(c, { targetName: IQN, initiatorName: `iqn.2026-11.io.tandem:host-${name}`, isid });
    await clearUnitAttentions(s, 0);
    return s;
  };
  const restart = async () => {
    conns.splice(0).forEach((c) => c.destroy());
    await target!.stop();
    await start();
  };
  const out = async (s: Session, sa: number, type: number, key: bigint, saKey: bigint, aptpl = false) => {
    const { cdb, data } = persistentReserveOut(sa, type, key, saKey, aptpl);
    return (await scsi(s, 0, cdb, { writeData: data })).status;
  };

  beforeEach(async () => {
    dir = makeTempDir();
    port = undefined;
    await start();
  });
  afterEach(async () => {
    conns.splice(0).forEach((c) => c.destroy());
    await target?.stop();
    removeDir(dir);
  });

  it('keeps registrations and the reservation when APTPL was set', async () => {
    let a = await initiator('a');
    let b = await initiator('b');
    expect(await out(a, 0, 0, 0n, KEY_A, true)).toBe(0); // REGISTER with APTPL
    expect(await out(b, 0, 0, 0n, KEY_B, true)).toBe(0);
    expect(await out(a, 1, PrType.WriteExclusive, KEY_A, 0n, true)).toBe(0); // RESERVE, write exclusive
    const block = Buffer.alloc(512, 0x5a);
    expect((await scsi(b, 0, write10(0, 1), { writeData: block })).status).toBe(RESERVATION_CONFLICT);

    await restart();
    a = await initiator('a');
    b = await initiator('b');
    expect((await readKeys(b, 0)).sort()).toEqual([KEY_A, KEY_B]);
    expect(await readReservation(b, 0)).toEqual({ key: KEY_A, type: PrType.WriteExclusive });
    expect((await scsi(b, 0, write10(0, 1), { writeData: block })).status).toBe(RESERVATION_CONFLICT);
    expect((await scsi(a, 0, write10(0, 1), { writeData: block })).status).toBe(0);
  });

  it('forgets registrations and the reservation when APTPL was not set', async () => {
    const a = await initiator('a');
    const b = await initiator('b');
    expect(await out(a, 0, 0, 0n, KEY_A)).toBe(0);
    expect(await out(b, 0, 0, 0n, KEY_B)).toBe(0);
    expect(await out(a, 1, PrType.ExclusiveAccess, KEY_A, 0n)).toBe(0);
    expect((await readKeys(a, 0)).length).toBe(2);

    await restart();
    const b2 = await initiator('b');
    expect(await readKeys(b2, 0)).toEqual([]);
    expect(await readReservation(b2, 0)).toBeNull();
    expect((await scsi(b2, 0, write10(0, 1), { writeData: Buffer.alloc(512, 1) })).status).toBe(0);
  });
});
