import { Asc, SenseKey, buildSense, decodeSense } from './sense';

describe('sense data', () => {
  it('builds 18-byte fixed format with key, ASC and ASCQ', () => {
    const s = buildSense(SenseKey.IllegalRequest, Asc.LbaOutOfRange);
    expect(s.length).toBe(18);
    expect(s[0]).toBe(0x70);
    expect(s[2]).toBe(0x05);
    expect(s[7]).toBe(10);
    expect([s[12], s[13]]).toEqual([0x21, 0x00]);
    expect(s[15]).toBe(0); // no SKSV
  });

  it('sets VALID and the INFORMATION field', () => {
    const s = buildSense(SenseKey.Miscompare, Asc.MiscompareDuringVerify, false, 0x01020304);
    expect(s[0]).toBe(0xf0);
    expect(s.readUInt32BE(3)).toBe(0x01020304);
    expect(decodeSense(s)).toEqual({ key: 0x0e, asc: 0x1d, ascq: 0x00, descriptor: false });
  });

  it('encodes a CDB field pointer with bit pointer', () => {
    const s = buildSense(SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, false, undefined, { inCdb: true, byte: 1, bit: 7 });
    expect(s[15]).toBe(0x80 | 0x40 | 0x08 | 7);
    expect(s.readUInt16BE(16)).toBe(1);
  });

  it('encodes a parameter-list field pointer without bit pointer', () => {
    const s = buildSense(SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, false, undefined, { inCdb: false, byte: 12 });
    expect(s[15]).toBe(0x80);
    expect(s.readUInt16BE(16)).toBe(12);
  });

  it('builds descriptor format with information and sense-key specific descriptors', () => {
    const s = buildSense(SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, true, 5, { inCdb: true, byte: 2 });
    expect(s[0]).toBe(0x72);
    expect([s[1], s[2], s[3]]).toEqual([0x05, 0x24, 0x00]);
    expect(s[7]).toBe(s.length - 8);
    expect(s[8]).toBe(0x00);
    expect(s[10]).toBe(0x80);
    expect(s.readUInt32BE(16)).toBe(5);
    expect(s[20]).toBe(0x02);
    expect(s[24]).toBe(0xc0);
    expect(s.readUInt16BE(25)).toBe(2);
    expect(decodeSense(s)).toMatchObject({ key: 5, asc: 0x24, ascq: 0, descriptor: true });
  });
});
