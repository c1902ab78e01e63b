import { AscAscq, ScsiCommandError, ascAscq, decodeSense, describeSense } from './sense';

describe('decodeSense', () => {
  it('decodes fixed format, with INFORMATION when valid', () => {
    const raw = Buffer.alloc(18);
    raw[0] = 0xf0;
    raw[2] = 0x02;
    raw.writeUInt32BE(1234, 3);
    raw[7] = 10;
    raw[12] = 0x04;
    raw[13] = 0x0b;
    const s = decodeSense(raw)!;
    expect(s).toMatchObject({ key: 2, asc: 0x04, ascq: 0x0b, descriptor: false, deferred: false, information: 1234 });
    expect(ascAscq(s)).toBe(AscAscq.AluaStandby);
    expect(describeSense(s)).toBe('NOT READY 04/0B');
  });

  it('decodes descriptor format with an information descriptor', () => {
    const raw = Buffer.from([0x72, 0x06, 0x2a, 0x06, 0, 0, 0, 12, 0x00, 0x0a, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
    expect(decodeSense(raw)).toMatchObject({ key: 6, asc: 0x2a, ascq: 0x06, descriptor: true, information: 0x100000002 });
  });

  it('returns null for nothing usable', () => {
    expect(decodeSense(null)).toBeNull();
    expect(decodeSense(Buffer.from([0x70]))).toBeNull();
    expect(decodeSense(Buffer.from([0x00, 0, 0, 0]))).toBeNull();
    expect(ascAscq(null)).toBe(-1);
  });

  it('names the status and sense in ScsiCommandError', () => {
    const sense = decodeSense(Buffer.from([0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0]));
    expect(new ScsiCommandError('WRITE(16)', 2, sense).message).toBe('WRITE(16): CHECK CONDITION (ILLEGAL REQUEST 24/00)');
    expect(new ScsiCommandError('READ(16)', 0x18, null).message).toBe('READ(16): RESERVATION CONFLICT');
  });
});
