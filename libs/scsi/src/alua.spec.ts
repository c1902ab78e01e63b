import { AluaAccessState, AluaClass, AluaState, aluaRefusal } from './alua';
import { Opcode } from './cdb';
import { MemoryBlockStore, Result, cdb10, fixture, nexus, runCommand } from './harness.spec-helper';
import { LogicalUnit } from './logicalUnit';
import { ScsiTarget } from './scsiTarget';
import { ItNexus } from './task';

/** A nexus through target port group (= portal group tag = relative target port id) `group`. */
function nexusThrough(group: number, initiator = 1): ItNexus {
  const base = nexus(initiator);
  const tag = `0x${group.toString(16).padStart(4, '0')}`;
  return {
    ...base,
    id: `${base.initiatorPortName}|iqn.2026-11.io.tandem:demo,t,${tag}`,
    targetPortName: `iqn.2026-11.io.tandem:demo,t,${tag}`,
    relativeTargetPortId: group,
    targetPortGroupId: group,
  };
}

function rtpgCdb(extended = false, allocation = 4096): number[] {
  const cdb = Buffer.alloc(12);
  cdb[0] = Opcode.MaintenanceIn;
  cdb[1] = (extended ? 0x20 : 0) | 0x0a;
  cdb.writeUInt32BE(allocation, 6);
  return [...cdb];
}

interface Descriptor {
  state: number;
  supported: number;
  group: number;
  status: number;
  ports: number[];
}

function parseRtpg(data: Buffer, extended: boolean): Descriptor[] {
  const length = data.readUInt32BE(0) + 4;
  expect(length).toBe(data.length);
  const out: Descriptor[] = [];
  for (let at = extended ? 8 : 4; at < length; ) {
    const count = data[at + 7];
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(data.readUInt16BE(at + 8 + i * 4 + 2));
    out.push({ state: data[at] & 0x0f, supported: data[at + 1], group: data.readUInt16BE(at + 2), status: data[at + 5], ports });
    at += 8 + 4 * count;
  }
  return out;
}

async function twoGroupTarget(states: Record<number, AluaAccessState> = {}) {
  const store = new MemoryBlockStore(512, 512 * 256);
  const lu = new LogicalUnit({ store, identity: { deviceId: 'alua-1' }, aluaStates: states });
  const target = new ScsiTarget({ luns: [[0, lu]] });
  target.setTargetPortGroups([
    { id: 1, relativeTargetPortIds: [1] },
    { id: 2, relativeTargetPortIds: [2] },
  ]);
  const one = nexusThrough(1);
  const two = nexusThrough(2);
  const run = (n: ItNexus, cdb: number[]) => runCommand(target, cdb, { nexus: n });
  // Consume POWER ON on both paths.
  for (const n of [one, two]) {
    target.nexusLoggedIn(n);
    await run(n, [0, 0, 0, 0, 0, 0]);
  }
  return { lu, target, one, two, run };
}

const expectSense = (r: Result, key: number, asc: number, ascq: number) => expect([r.status, r.key, r.asc, r.ascq]).toEqual([2, key, asc, ascq]);

describe('ALUA state', () => {
  it('defaults to optimized, tracks whether every group is active, and refuses unknown states', () => {
    const state = new AluaState();
    expect(state.stateOf(5)).toBe('optimized');
    expect(state.allActive).toBe(true);
    expect(state.set(5, 'non-optimized')).toBe(true);
    expect(state.allActive).toBe(true);
    expect(state.set(5, 'non-optimized')).toBe(false);
    expect(state.set(6, 'standby')).toBe(true);
    expect(state.allActive).toBe(false);
    expect(state.snapshot()).toEqual({ 5: 'non-optimized', 6: 'standby' });
    expect(() => state.set(1, 'offline' as AluaAccessState)).toThrow(/not one of/);
    expect(() => state.set(70000, 'standby')).toThrow(RangeError);
  });

  it('lets each state through exactly the commands SPC-4 5.15.2.4 lists', () => {
    const table: Array<[AluaAccessState, AluaClass, number]> = [
      ['optimized', AluaClass.ActiveOnly, -1],
      ['non-optimized', AluaClass.ActiveOnly, -1],
      ['standby', AluaClass.ActiveOnly, 0x040b],
      ['standby', AluaClass.Standby, -1],
      ['standby', AluaClass.AnyState, -1],
      ['unavailable', AluaClass.Standby, 0x040c],
      ['unavailable', AluaClass.AnyState, -1],
      ['transitioning', AluaClass.Standby, 0x040a],
      ['transitioning', AluaClass.AnyState, -1],
    ];
    for (const [state, cls, refusal] of table) expect([state, cls, aluaRefusal(state, cls)]).toEqual([state, cls, refusal]);
  });
});

describe('REPORT TARGET PORT GROUPS', () => {
  it('lists every port group of the target with its state, supported states and relative port, in both formats', async () => {
    const { lu, one, two, run } = await twoGroupTarget({ 2: 'non-optimized' });
    for (const extended of [false, true]) {
      for (const through of [one, two]) {
        const r = await run(through, rtpgCdb(extended));
        expect(r.status).toBe(0);
        if (extended) expect([r.data[4], r.data[5]]).toEqual([0x10, 0]);
        expect(parseRtpg(r.data, extended)).toEqual([
          { state: 0, supported: 0x8f, group: 1, status: 0, ports: [1] },
          { state: 1, supported: 0x8f, group: 2, status: 0, ports: [2] },
        ]);
      }
    }
    lu.setAccessState(1, 'standby');
    const r = await run(two, rtpgCdb());
    expect(r.status).toBe(2); // the change is reported first
    expect(parseRtpg((await run(two, rtpgCdb())).data, false)[0]).toEqual({ state: 2, supported: 0x8f, group: 1, status: 2, ports: [1] });
  });

  it('honours the allocation length and refuses unknown parameter data formats', async () => {
    const { run, one } = await twoGroupTarget();
    const short = await run(one, rtpgCdb(false, 6));
    expect(short.status).toBe(0);
    expect(short.data.length).toBe(6);
    expect(short.data.readUInt32BE(0)).toBe(24);
    const bad = rtpgCdb();
    bad[1] = 0x40 | 0x0a;
    const r = await run(one, bad);
    expectSense(r, 5, 0x24, 0);
  });

  it('answers for the asking port when no port groups were set', async () => {
    const f = await fixture();
    const r = await f.run(rtpgCdb());
    expect(parseRtpg(r.data, false)).toEqual([{ state: 0, supported: 0x8f, group: 7, status: 0, ports: [1] }]);
  });

  it('is listed by REPORT SUPPORTED OPERATION CODES', async () => {
    const f = await fixture();
    const r = await f.run([0xa3, 0x0c, 0x02, 0xa3, 0x00, 0x0a, 0, 0, 0x10, 0, 0, 0]);
    expect(r.status).toBe(0);
    expect(r.data[1] & 0x07).toBe(0x03); // SUPPORT: supported per standard
  });
});

describe('commands per ALUA state', () => {
  const read = cdb10(Opcode.Read10, 0, 1);
  const write = cdb10(Opcode.Write10, 0, 1);
  const inquiry = [Opcode.Inquiry, 0, 0, 0, 96, 0];
  const tur = [0, 0, 0, 0, 0, 0];
  const modeSense = [Opcode.ModeSense6, 0, 0x3f, 0, 255, 0];
  const prInReadKeys = [Opcode.PersistentReserveIn, 0, 0, 0, 0, 0, 0, 0x10, 0, 0];
  const readCapacity = [Opcode.ReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const reportLuns = [Opcode.ReportLuns, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0];
  const requestSense = [Opcode.RequestSense, 0, 0, 0, 18, 0];

  it('standby: media access and TEST UNIT READY get NOT READY 04/0B; INQUIRY, MODE SENSE, PR IN, RTPG, REPORT LUNS run', async () => {
    const { target, one, two, run } = await twoGroupTarget({ 2: 'standby' });
    for (const cdb of [read, tur, readCapacity]) expectSense(await run(two, cdb), 2, 0x04, 0x0b);
    const w = await runCommand(target, write, { nexus: two, dataOut: Buffer.alloc(512) });
    expect([w.status, w.asc, w.ascq]).toEqual([2, 0x04, 0x0b]);
    for (const cdb of [inquiry, modeSense, prInReadKeys, rtpgCdb(), reportLuns, requestSense]) expect((await run(two, cdb)).status).toBe(0);
    // The other path is untouched.
    expect((await run(one, read)).status).toBe(0);
  });

  it('unavailable: 04/0C except INQUIRY, REPORT LUNS, RTPG and REQUEST SENSE', async () => {
    const { two, run } = await twoGroupTarget({ 2: 'unavailable' });
    for (const cdb of [read, tur, modeSense, prInReadKeys]) expectSense(await run(two, cdb), 2, 0x04, 0x0c);
    for (const cdb of [inquiry, rtpgCdb(true), reportLuns, requestSense]) expect((await run(two, cdb)).status).toBe(0);
  });

  it('transitioning: 04/0A except INQUIRY, REPORT LUNS, RTPG and REQUEST SENSE', async () => {
    const { target, two, run } = await twoGroupTarget();
    target.setAccessState(0, 2, 'transitioning');
    expect((await run(two, tur)).asc).toBe(0x2a); // the change itself first
    for (const cdb of [read, tur, modeSense]) expectSense(await run(two, cdb), 2, 0x04, 0x0a);
    for (const cdb of [inquiry, rtpgCdb(), reportLuns]) expect((await run(two, cdb)).status).toBe(0);
  });

  it('active/non-optimized runs everything', async () => {
    const { two, run } = await twoGroupTarget({ 1: 'non-optimized', 2: 'non-optimized' });
    for (const cdb of [read, tur, readCapacity, modeSense]) expect((await run(two, cdb)).status).toBe(0);
  });

  it('uses descriptor-format sense when the initiator chose it', async () => {
    const { lu, two, run } = await twoGroupTarget({ 2: 'standby' });
    lu.modePages.descriptorSense = true;
    const r = await run(two, read);
    expect(r.task.sense![0]).toBe(0x72);
    expect([r.key, r.asc, r.ascq]).toEqual([2, 0x04, 0x0b]);
  });
});

describe('ASYMMETRIC ACCESS STATE CHANGED', () => {
  it('is raised on every nexus of the LU, once, and only on a real change', async () => {
    const { target, one, two, run } = await twoGroupTarget();
    expect(target.setAccessState(0, 2, 'standby')).toBe(true);
    for (const n of [one, two]) {
      // INQUIRY neither reports nor clears it.
      expect((await run(n, [Opcode.Inquiry, 0, 0, 0, 96, 0])).status).toBe(0);
      expectSense(await run(n, cdb10(Opcode.Read10, 0, 1)), 6, 0x2a, 0x06);
    }
    expect((await run(one, cdb10(Opcode.Read10, 0, 1))).status).toBe(0);
    expectSense(await run(two, cdb10(Opcode.Read10, 0, 1)), 2, 0x04, 0x0b);
    expect(target.setAccessState(0, 2, 'standby')).toBe(false);
    expect((await run(one, [0, 0, 0, 0, 0, 0])).status).toBe(0);
    expect(() => target.setAccessState(3, 2, 'standby')).toThrow(/LUN 3/);
  });

  it('back to optimized lets media commands through again', async () => {
    const { target, two, run } = await twoGroupTarget({ 2: 'standby' });
    target.setAccessState(0, 2, 'optimized');
    expectSense(await run(two, [0, 0, 0, 0, 0, 0]), 6, 0x2a, 0x06);
    expect((await run(two, cdb10(Opcode.Read10, 0, 1))).status).toBe(0);
  });
});
