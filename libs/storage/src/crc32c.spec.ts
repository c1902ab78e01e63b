import { crc32c as reference } from '@node-rs/crc32';
import { randomBytes } from 'crypto';
import { existsSync } from 'fs';
import { crc32c, crc32cEngine } from './crc32c';
import { nativeFs } from './flat/nativeFs';

describe('crc32c', () => {
  it('uses ISA-L where the addon was built with it (the set-up installs libisal-dev)', () => {
    if (existsSync('/usr/include/isa-l/crc.h')) expect(crc32cEngine).toBe('isa-l');
    expect(crc32cEngine === 'isa-l').toBe(typeof nativeFs()?.crc32c === 'function');
  });

  it('computes the standard value ("123456789" → 0xE3069283) and continues a checksum', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.from('56789'), crc32c(Buffer.from('1234')))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(0), 0xdeadbeef)).toBe(0xdeadbeef);
  });

  it('equals @node-rs/crc32 on any length, offset and starting value', () => {
    const data = randomBytes(300_000);
    for (let i = 0; i < 500; i++) {
      const start = (i * 7919) % 1000;
      const length = i < 100 ? i : (i * 104_729) % (data.length - start);
      const view = data.subarray(start, start + length);
      const initial = i % 3 === 0 ? undefined : (i * 2_654_435_761) >>> 0;
      expect(crc32c(view, initial)).toBe(reference(view, initial));
    }
    const u8 = new Uint8Array(data.buffer, data.byteOffset + 3, 4096);
    expect(crc32c(u8)).toBe(reference(Buffer.from(u8)));
  });

  // @node-rs/crc32, the fallback, has rules of its own (it takes strings).
  (crc32cEngine === 'isa-l' ? it : it.skip)('refuses what is not bytes', () => {
    expect(() => crc32c('text' as unknown as Uint8Array)).toThrow(/crc32c\(data: Uint8Array/);
    expect(() => crc32c(new Uint16Array(4) as unknown as Uint8Array)).toThrow(/crc32c\(data: Uint8Array/);
  });
});
