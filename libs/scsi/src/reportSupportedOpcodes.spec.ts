import { COMMANDS } from './commands';
import { fixture } from './harness.spec-helper';

function rsoc(options: number, opcode = 0, serviceAction = 0, rctd = false, allocationLength = 65535): number[] {
  return [0xa3, 0x0c, (rctd ? 0x80 : 0) | options, opcode, serviceAction >> 8, serviceAction & 0xff, 0, 0, allocationLength >> 8, allocationLength & 0xff, 0, 0];
}

interface Descriptor { opcode: number; serviceAction: number; ctdp: boolean; servactv: boolean; cdbLength: number; timeout?: number }

function parseAll(data: Buffer): Descriptor[] {
  const out: Descriptor[] = [];
  const end = 4 + data.readUInt32BE(0);
  for (let at = 4; at < end; ) {
    const d: Descriptor = {
      opcode: data[at],
      serviceAction: data.readUInt16BE(at + 2),
      ctdp: (data[at + 5] & 0x02) !== 0,
      servactv: (data[at + 5] & 0x01) !== 0,
      cdbLength: data.readUInt16BE(at + 6),
    };
    at += 8;
    if (d.ctdp) {
      expect(data.readUInt16BE(at)).toBe(0x0a);
      d.timeout = data.readUInt32BE(at + 8);
      at += 12;
    }
    out.push(d);
  }
  return out;
}

describe('REPORT SUPPORTED OPERATION CODES', () => {
  it('lists every command the LU offers, with service actions flagged, without timeouts unless RCTD', async () => {
    const f = await fixture();
    const all = parseAll((await f.run(rsoc(0))).data);
    // A thick LU leaves out the thin-provisioning commands (UNMAP, GET LBA STATUS).
    expect(all).toHaveLength(COMMANDS.filter((c) => !c.supportedBy || c.supportedBy(f.lu)).length);
    expect(all.some((d) => d.opcode === 0x42)).toBe(false);
    expect(all.every((d) => !d.ctdp)).toBe(true);
    expect(all.every((d) => d.servactv || d.serviceAction === 0)).toBe(true);
    expect(all.find((d) => d.opcode === 0x9e)).toMatchObject({ servactv: true, serviceAction: 0x10, cdbLength: 16 });
    expect(all.find((d) => d.opcode === 0x28)).toMatchObject({ servactv: false, cdbLength: 10 });
    const timed = parseAll((await f.run(rsoc(0, 0, 0, true))).data);
    expect(timed.every((d) => d.ctdp && d.timeout! > 0)).toBe(true);
  });

  it('answers one command with truthful usage data (DPO/FUA set for READ/WRITE, DPO for VERIFY)', async () => {
    const f = await fixture();
    const read10 = (await f.run(rsoc(1, 0x28))).data;
    expect(read10[1] & 0x07).toBe(3);
    expect(read10.readUInt16BE(2)).toBe(10);
    expect(read10[4]).toBe(0x28);
    expect(read10[5] & 0x18).toBe(0x18);
    expect(read10[5] & 0xe0).toBe(0xe0);
    const verify10 = (await f.run(rsoc(1, 0x2f))).data;
    expect(verify10[5] & 0x10).toBe(0x10);
    const timed = (await f.run(rsoc(1, 0x35, 0, true))).data;
    expect(timed[1] & 0x80).toBe(0x80);
    expect(timed.readUInt16BE(4 + 10)).toBe(0x0a);
  });

  it('reports an unsupported opcode as not supported (SUPPORT 001b)', async () => {
    const f = await fixture();
    const r = await f.run(rsoc(1, 0x42));
    expect(r.status).toBe(0);
    expect(r.data[1] & 0x07).toBe(1);
  });

  it('requires a service action for opcodes that have them, and refuses one for opcodes that do not', async () => {
    const f = await fixture();
    expect((await f.run(rsoc(1, 0x9e))).asc).toBe(0x24);
    const rc16 = await f.run(rsoc(2, 0x9e, 0x10));
    expect([rc16.status, rc16.data[1] & 7, rc16.data[4], rc16.data[5]]).toEqual([0, 3, 0x9e, 0x1f]);
    expect((await f.run(rsoc(2, 0x9e, 0x11))).data[1] & 7).toBe(1);
    expect((await f.run(rsoc(2, 0x28))).asc).toBe(0x24);
    expect((await f.run(rsoc(7))).asc).toBe(0x24);
  });

  it('round-trips: every listed command answers its one-command form', async () => {
    const f = await fixture();
    for (const d of parseAll((await f.run(rsoc(0))).data)) {
      const r = await f.run(d.servactv ? rsoc(2, d.opcode, d.serviceAction) : rsoc(1, d.opcode));
      expect(r.status).toBe(0);
      expect(r.data[4]).toBe(d.opcode);
      expect(r.data.readUInt16BE(2)).toBe(d.cdbLength);
    }
  });

  it('usage data length matches the CDB length of the opcode group', () => {
    for (const c of COMMANDS) {
      const group = c.opcode >> 5;
      const expected = group === 0 ? 6 : group <= 2 ? 10 : group === 4 ? 16 : 12;
      expect([c.name, c.usage.length]).toEqual([c.name, expected]);
      expect(c.usage[0]).toBe(c.opcode);
    }
  });
});
