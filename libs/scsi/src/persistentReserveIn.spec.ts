import { fixture, nexus } from './harness.spec-helper';
import { prIn, prOut, iscsiTransportId, isidOf } from './prSpecHelpers.spec-helper';
import { ScsiStatus } from './task';

const A = nexus(1);
const B = nexus(2);

async function withRegistrations() {
  const f = await fixture();
  f.target.nexusLoggedIn(B);
  await f.run([0, 0, 0, 0, 0, 0], { nexus: B });
  const out = (n: typeof A, action: number, fields: Parameters<typeof prOut>[1]) => {
    const { cdb, dataOut } = prOut(action, fields);
    return f.run(cdb, { nexus: n, dataOut });
  };
  await out(A, 0x00, { sark: 0x1111n });
  await out(B, 0x00, { sark: 0x2222n, allTgPt: true });
  return { ...f, out };
}

describe('PERSISTENT RESERVE IN', () => {
  it('READ KEYS lists every key after PRgeneration and ADDITIONAL LENGTH', async () => {
    const { run } = await withRegistrations();
    const r = await run(prIn(0x00));
    expect(r.status).toBe(ScsiStatus.Good);
    expect(r.data.readUInt32BE(0)).toBe(2);
    expect(r.data.readUInt32BE(4)).toBe(16);
    expect([r.data.readBigUInt64BE(8), r.data.readBigUInt64BE(16)]).toEqual([0x1111n, 0x2222n]);
  });

  it('keeps ADDITIONAL LENGTH when the allocation length cuts the list', async () => {
    const { run } = await withRegistrations();
    const r = await run(prIn(0x00, 8));
    expect(r.data.length).toBe(8);
    expect(r.data.readUInt32BE(4)).toBe(16);
  });

  it('READ RESERVATION: empty, then the holder key and type; key 0 for all-registrants', async () => {
    const { run, out } = await withRegistrations();
    expect((await run(prIn(0x01))).data.readUInt32BE(4)).toBe(0);
    await out(A, 0x01, { key: 0x1111n, type: 0x3 });
    const held = await run(prIn(0x01));
    expect(held.data.readUInt32BE(4)).toBe(16);
    expect(held.data.readBigUInt64BE(8)).toBe(0x1111n);
    expect(held.data[21]).toBe(0x03);
    await out(A, 0x02, { key: 0x1111n, type: 0x3 });
    await out(A, 0x01, { key: 0x1111n, type: 0x8 });
    const all = await run(prIn(0x01));
    expect(all.data.readBigUInt64BE(8)).toBe(0n);
    expect(all.data[21]).toBe(0x08);
  });

  it('REPORT CAPABILITIES: every type, SIP_C and ATP_C, no PTPL_C without a state file', async () => {
    const { run } = await withRegistrations();
    const r = await run(prIn(0x02));
    expect(r.data.readUInt16BE(0)).toBe(8);
    expect(r.data[2]).toBe(0x0c);
    expect(r.data[3] & 0x80).toBe(0x80); // TMV
    expect((r.data[3] >> 4) & 0x07).toBeLessThanOrEqual(5);
    expect(r.data.readUInt16BE(4)).toBe(0xea01);
  });

  it('READ FULL STATUS: one descriptor per registration with holder, ALL_TG_PT and TransportID', async () => {
    const { run, out } = await withRegistrations();
    await out(A, 0x01, { key: 0x1111n, type: 0x1 });
    const r = await run(prIn(0x03));
    expect(r.status).toBe(ScsiStatus.Good);
    const total = r.data.readUInt32BE(4);
    expect(total).toBe(r.data.length - 8);
    const first = r.data.subarray(8);
    expect(first.readBigUInt64BE(0)).toBe(0x1111n);
    expect(first[12]).toBe(0x01); // R_HOLDER
    expect(first[13]).toBe(0x01); // type WE
    expect(first.readUInt16BE(18)).toBe(1);
    const idLength = first.readUInt32BE(20);
    expect(first.subarray(24, 24 + idLength)).toEqual(iscsiTransportId(A.initiatorName, isidOf(A)));
    const second = first.subarray(24 + idLength);
    expect(second.readBigUInt64BE(0)).toBe(0x2222n);
    expect(second[12]).toBe(0x02); // ALL_TG_PT, not holder
    expect(second.readUInt16BE(18)).toBe(0);
  });

  it('refuses service actions 04h-1Fh', async () => {
    const { run } = await withRegistrations();
    for (let action = 4; action < 0x20; action++) {
      const r = await run(prIn(action));
      expect([r.status, r.key, r.asc]).toEqual([ScsiStatus.CheckCondition, 0x5, 0x24]);
    }
  });

  it('conflicts while a RESERVE(6) reservation exists', async () => {
    const f = await fixture();
    await f.run([0x16, 0, 0, 0, 0, 0]);
    expect((await f.run(prIn(0x00))).status).toBe(ScsiStatus.ReservationConflict);
  });
});
