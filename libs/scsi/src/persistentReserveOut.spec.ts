import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { MemoryBlockStore, cdb10, fixture, nexus, runCommand } from './harness.spec-helper';
import { LogicalUnit } from './logicalUnit';
import { prIn, prOut, iscsiTransportId, isidOf, registerAndMove } from './prSpecHelpers.spec-helper';
import { ScsiTarget } from './scsiTarget';
import { ScsiStatus } from './task';

const REGISTER = 0x00;
const RESERVE = 0x01;
const RELEASE = 0x02;
const CLEAR = 0x03;
const PREEMPT = 0x04;
const PREEMPT_AND_ABORT = 0x05;
const REGISTER_AND_IGNORE = 0x06;
const WE = 0x1;
const EA = 0x3;
const READ10 = 0x28;
const WRITE10 = 0x2a;

const A = nexus(1);
const B = nexus(2);
const C = nexus(3);

async function twoInitiators() {
  const f = await fixture();
  for (const n of [B, C]) {
    f.target.nexusLoggedIn(n);
    await f.run([0, 0, 0, 0, 0, 0], { nexus: n });
  }
  const out = (n: typeof A, action: number, fields: Parameters<typeof prOut>[1]) => {
    const { cdb, dataOut } = prOut(action, fields);
    return f.run(cdb, { nexus: n, dataOut });
  };
  return { ...f, out };
}

describe('PERSISTENT RESERVE OUT through the target', () => {
  it('register, reserve, conflict on the data path, release', async () => {
    const { run, out } = await twoInitiators();
    expect((await out(A, REGISTER, { sark: 0xa1n })).status).toBe(ScsiStatus.Good);
    expect((await out(B, REGISTER_AND_IGNORE, { sark: 0xb2n })).status).toBe(ScsiStatus.Good);
    expect((await out(A, RESERVE, { key: 0xa1n, type: EA })).status).toBe(ScsiStatus.Good);
    const block = Buffer.alloc(512, 7);
    expect((await run(cdb10(READ10, 0, 1), { nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run(cdb10(WRITE10, 0, 1), { nexus: B, dataOut: block })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run(cdb10(WRITE10, 0, 1), { nexus: A, dataOut: block })).status).toBe(ScsiStatus.Good);
    // Allowed whatever the reservation: TEST UNIT READY, READ CAPACITY, INQUIRY, PR IN.
    expect((await run([0, 0, 0, 0, 0, 0], { nexus: C })).status).toBe(ScsiStatus.Good);
    expect((await run([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { nexus: C })).status).toBe(ScsiStatus.Good);
    expect((await run([0x12, 0, 0, 0, 96, 0], { nexus: C })).status).toBe(ScsiStatus.Good);
    expect((await run(prIn(0), { nexus: C })).status).toBe(ScsiStatus.Good);
    // MODE SENSE conflicts like a write (SPC-4 table 62).
    expect((await run([0x1a, 0, 0x3f, 0, 255, 0], { nexus: C })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await out(A, RELEASE, { key: 0xa1n, type: EA })).status).toBe(ScsiStatus.Good);
    expect((await run(cdb10(READ10, 0, 1), { nexus: B })).status).toBe(ScsiStatus.Good);
  });

  it('answers RESERVATION CONFLICT for a wrong key and checks the CDB and parameter list', async () => {
    const { out } = await twoInitiators();
    await out(A, REGISTER, { sark: 1n });
    expect((await out(A, REGISTER, { key: 5n, sark: 2n })).status).toBe(ScsiStatus.ReservationConflict);
    const badType = await out(A, RESERVE, { key: 1n, type: 0x2 });
    expect([badType.status, badType.key, badType.asc]).toEqual([ScsiStatus.CheckCondition, 0x5, 0x24]);
    const badScope = await out(A, RESERVE, { key: 1n, type: WE, scope: 1 });
    expect([badScope.key, badScope.asc]).toEqual([0x5, 0x24]);
    const shortList = await out(A, REGISTER, { key: 1n, sark: 2n, listLength: 20 });
    expect([shortList.key, shortList.asc]).toEqual([0x5, 0x1a]);
    const longList = await out(A, REGISTER, { key: 1n, sark: 2n, listLength: 28 });
    expect([longList.key, longList.asc]).toEqual([0x5, 0x1a]);
    const specOnReserve = await out(A, RESERVE, { key: 1n, type: WE, specIPT: true, transportIds: [iscsiTransportId('iqn.x')] });
    expect([specOnReserve.key, specOnReserve.asc]).toEqual([0x5, 0x26]);
    // No place to keep the state: APTPL is not offered.
    const aptpl = await out(A, REGISTER, { key: 1n, sark: 2n, aptpl: true });
    expect([aptpl.key, aptpl.asc]).toEqual([0x5, 0x26]);
  });

  it('RELEASE of another type is INVALID RELEASE OF PERSISTENT RESERVATION', async () => {
    const { out } = await twoInitiators();
    await out(A, REGISTER, { sark: 1n });
    await out(A, RESERVE, { key: 1n, type: WE });
    const r = await out(A, RELEASE, { key: 1n, type: EA });
    expect([r.key, r.asc, r.ascq]).toEqual([0x5, 0x26, 0x04]);
  });

  it('SPEC_I_PT registers the initiator ports named by TransportIDs', async () => {
    const { run, out } = await twoInitiators();
    const ids = [iscsiTransportId(B.initiatorName, isidOf(B)), iscsiTransportId(C.initiatorName)];
    expect((await out(A, REGISTER, { sark: 9n, specIPT: true, transportIds: ids })).status).toBe(ScsiStatus.Good);
    const keys = await run(prIn(0));
    expect(keys.data.readUInt32BE(4)).toBe(24);
    // B is registered now: REGISTER from it needs the key.
    expect((await out(B, REGISTER, { key: 0n, sark: 3n })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await out(B, REGISTER, { key: 9n, sark: 3n })).status).toBe(ScsiStatus.Good);
    const badProtocol = Buffer.from(ids[0]);
    badProtocol[0] = 0x40 | 0x01;
    const r = await out(A, REGISTER, { key: 9n, sark: 0n, specIPT: true, transportIds: [badProtocol] });
    expect([r.key, r.asc]).toEqual([0x5, 0x26]);
  });

  it('PREEMPT raises REGISTRATIONS PREEMPTED; CLEAR raises RESERVATIONS PREEMPTED', async () => {
    const { lu, run, out } = await twoInitiators();
    await out(A, REGISTER, { sark: 1n });
    await out(B, REGISTER, { sark: 2n });
    await out(A, RESERVE, { key: 1n, type: WE });
    expect((await out(B, PREEMPT, { key: 2n, sark: 1n, type: EA })).status).toBe(ScsiStatus.Good);
    expect(lu.unitAttentions.pending(A.id)).toEqual([0x2a05]);
    expect(lu.unitAttentions.pending(B.id)).toEqual([]);
    const ua = await run([0, 0, 0, 0, 0, 0], { nexus: A });
    expect([ua.key, ua.asc, ua.ascq]).toEqual([0x6, 0x2a, 0x05]);
    await out(C, REGISTER, { sark: 3n });
    expect((await out(C, CLEAR, { key: 3n })).status).toBe(ScsiStatus.Good);
    expect(lu.unitAttentions.pending(B.id)).toEqual([0x2a03]);
    expect(lu.unitAttentions.pending(C.id)).toEqual([]);
  });

  it('PREEMPT AND ABORT hands the preempted nexuses to the transport', async () => {
    const { target, out } = await twoInitiators();
    const aborted: Array<[number, readonly string[]]> = [];
    target.setTaskAborter((lun, ids) => aborted.push([lun, ids]));
    await out(A, REGISTER, { sark: 1n });
    await out(B, REGISTER, { sark: 2n });
    await out(A, RESERVE, { key: 1n, type: EA });
    expect((await out(B, PREEMPT_AND_ABORT, { key: 2n, sark: 1n, type: EA })).status).toBe(ScsiStatus.Good);
    expect(aborted).toEqual([[0, [A.id]]]);
  });

  it('REGISTER AND MOVE hands the reservation to another I_T nexus', async () => {
    const { run, out } = await twoInitiators();
    await out(A, REGISTER, { sark: 1n });
    await out(A, RESERVE, { key: 1n, type: EA });
    const { cdb, dataOut } = registerAndMove({ key: 1n, sark: 7n, type: EA, rtpi: 1, unreg: true }, iscsiTransportId(C.initiatorName, isidOf(C)));
    expect((await run(cdb, { nexus: A, dataOut })).status).toBe(ScsiStatus.Good);
    expect((await run(cdb10(READ10, 0, 1), { nexus: C })).status).toBe(ScsiStatus.Good);
    expect((await run(cdb10(READ10, 0, 1), { nexus: A })).status).toBe(ScsiStatus.ReservationConflict);
    const reservation = await run(prIn(1), { nexus: A });
    expect(reservation.data.readBigUInt64BE(8)).toBe(7n);
  });

  it('REPORT SUPPORTED OPERATION CODES lists every PR service action with its usage', async () => {
    const { run } = await twoInitiators();
    const one = await run([0xa3, 0x0c, 0x02, 0x5f, 0x00, 0x01, 0, 0, 1, 0, 0, 0]);
    expect(one.status).toBe(ScsiStatus.Good);
    expect(one.data[1] & 0x07).toBe(0x03);
    expect([...one.data.subarray(4, 14)]).toEqual([0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0]);
    const unknown = await run([0xa3, 0x0c, 0x02, 0x5e, 0x00, 0x04, 0, 0, 1, 0, 0, 0]);
    expect(unknown.data[1] & 0x07).toBe(0x01);
  });
});

describe('APTPL: persistent reservations across a restart', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tandem-pr-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function start(prStatePath: string) {
    const store = new MemoryBlockStore(512, 512 * 64);
    const lu = new LogicalUnit({ store, identity: { deviceId: 'dev-aptpl' }, prStatePath });
    const target = new ScsiTarget({ luns: [[0, lu]] });
    for (const n of [A, B]) {
      target.nexusLoggedIn(n);
      await runCommand(target, [0, 0, 0, 0, 0, 0], { nexus: n });
    }
    const out = (n: typeof A, action: number, fields: Parameters<typeof prOut>[1]) => {
      const { cdb, dataOut } = prOut(action, fields);
      return runCommand(target, cdb, { nexus: n, dataOut });
    };
    return { lu, target, out, run: (cdb: number[], n = A) => runCommand(target, cdb, { nexus: n }) };
  }

  it('is written before GOOD and restored by a new LU on the same file', async () => {
    const path = join(dir, 'd0.img.pr.json');
    const first = await start(path);
    const caps = await first.run(prIn(2));
    expect(caps.data[2] & 0x01).toBe(1); // PTPL_C
    expect(caps.data[3] & 0x01).toBe(0); // PTPL_A
    expect((await first.out(A, REGISTER, { sark: 0x1234n, aptpl: true })).status).toBe(ScsiStatus.Good);
    expect(existsSync(path)).toBe(true);
    expect((await first.out(A, RESERVE, { key: 0x1234n, type: WE })).status).toBe(ScsiStatus.Good);
    expect(JSON.parse(readFileSync(path, 'utf8')).reservation).toEqual({ type: WE, holder: 0 });
    expect(existsSync(`${path}.tmp`)).toBe(false);

    // "Power loss": a new process opens the same device.
    const second = await start(path);
    const keys = await second.run(prIn(0), B);
    expect(keys.data.readUInt32BE(0)).toBe(1);
    expect(keys.data.readBigUInt64BE(8)).toBe(0x1234n);
    expect((await second.run(prIn(2))).data[3] & 0x01).toBe(1); // PTPL_A
    const block = Buffer.alloc(512);
    expect((await runCommand(second.target, cdb10(WRITE10, 0, 1), { nexus: B, dataOut: block })).status).toBe(
      ScsiStatus.ReservationConflict,
    );
    expect((await runCommand(second.target, cdb10(WRITE10, 0, 1), { nexus: A, dataOut: block })).status).toBe(ScsiStatus.Good);
  });

  it('a registration without APTPL removes the saved state', async () => {
    const path = join(dir, 'd0.img.pr.json');
    const first = await start(path);
    await first.out(A, REGISTER, { sark: 1n, aptpl: true });
    expect(existsSync(path)).toBe(true);
    await first.out(B, REGISTER, { sark: 2n });
    expect(existsSync(path)).toBe(false);
    const second = await start(path);
    expect((await second.run(prIn(0))).data.readUInt32BE(4)).toBe(0);
  });

  it('when the state cannot be written the command fails and changes nothing', async () => {
    const path = join(dir, 'missing-dir', 'd0.img.pr.json');
    const first = await start(path);
    const r = await first.out(A, REGISTER, { sark: 1n, aptpl: true });
    expect([r.status, r.key, r.asc]).toEqual([ScsiStatus.CheckCondition, 0x4, 0x44]);
    expect((await first.run(prIn(0))).data.readUInt32BE(4)).toBe(0);
  });
});
