import { crc32c } from '@node-rs/crc32';
import { BHS_LENGTH } from './constants';
import { DataDestination, PduFramingError, PduReader, PduSink } from './pduReader';

function pdu(opcode: number, data: Buffer, opts: { ahs?: Buffer; headerDigest?: boolean; dataDigest?: boolean } = {}): Buffer {
  const ahs = opts.ahs ?? Buffer.alloc(0);
  const h = Buffer.alloc(BHS_LENGTH);
  h[0] = opcode;
  h[4] = ahs.length / 4;
  h.writeUIntBE(data.length, 5, 3);
  h.writeUInt32BE(0x1234, 16);
  const parts = [h, ahs];
  if (opts.headerDigest) {
    const d = Buffer.alloc(4);
    d.writeUInt32LE(crc32c(Buffer.concat([h, ahs])) >>> 0);
    parts.push(d);
  }
  const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
  parts.push(data, pad);
  if (opts.dataDigest && data.length > 0) {
    const d = Buffer.alloc(4);
    d.writeUInt32LE(crc32c(Buffer.concat([data, pad])) >>> 0);
    parts.push(d);
  }
  return Buffer.concat(parts);
}

class Collect implements PduSink {
  pdus: Array<{ opcode: number; data: Buffer; ok: boolean; itt: number }> = [];
  dest: DataDestination | null = null;
  onHeader(): DataDestination | null {
    return this.dest;
  }
  onPdu(h: Buffer, data: Buffer, off: number, len: number, ok: boolean): void {
    this.pdus.push({ opcode: h[0] & 0x3f, data: Buffer.from(data.subarray(off, off + len)), ok, itt: h.readUInt32BE(16) });
  }
}

describe('PduReader', () => {
  it('frames PDUs split at every byte boundary, with padding', () => {
    const sink = new Collect();
    const reader = new PduReader(sink);
    const stream = Buffer.concat([pdu(0x01, Buffer.from('abcde')), pdu(0x00, Buffer.alloc(0)), pdu(0x04, Buffer.from('x=y\0'))]);
    for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1));
    expect(sink.pdus.map((p) => p.opcode)).toEqual([0x01, 0x00, 0x04]);
    expect(sink.pdus[0].data.toString()).toBe('abcde');
    expect(sink.pdus[2].data.toString()).toBe('x=y\0');
  });

  it('skips AHS and verifies header and data digests', () => {
    const sink = new Collect();
    const reader = new PduReader(sink);
    reader.headerDigest = true;
    reader.dataDigest = true;
    const ahs = Buffer.alloc(8, 7);
    reader.push(pdu(0x05, Buffer.from('hello'), { ahs, headerDigest: true, dataDigest: true }));
    expect(sink.pdus).toHaveLength(1);
    expect(sink.pdus[0].ok).toBe(true);
    const bad = pdu(0x05, Buffer.from('hello'), { headerDigest: true, dataDigest: true });
    bad[bad.length - 1] ^= 0xff; // corrupt the data digest
    reader.push(bad);
    expect(sink.pdus[1].ok).toBe(false);
  });

  it('refuses a header whose digest does not match', () => {
    const reader = new PduReader(new Collect());
    reader.headerDigest = true;
    const p = pdu(0x00, Buffer.alloc(0), { headerDigest: true });
    p[20] ^= 1;
    expect(() => reader.push(p)).toThrow(PduFramingError);
  });

  it('refuses data segments beyond the negotiated limit before reading them', () => {
    const reader = new PduReader(new Collect());
    reader.maxDataLength = 512;
    expect(() => reader.push(pdu(0x01, Buffer.alloc(513)).subarray(0, BHS_LENGTH))).toThrow(/exceeds/);
  });

  it('copies the data segment straight into the buffer the sink chooses', () => {
    const sink = new Collect();
    const target = Buffer.alloc(16);
    sink.dest = { buffer: target, offset: 4 };
    new PduReader(sink).push(pdu(0x05, Buffer.from('data')));
    expect(target.subarray(4, 8).toString()).toBe('data');
  });
});
