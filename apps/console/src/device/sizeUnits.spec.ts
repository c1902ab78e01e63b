import { formatByteCount, parseSize, SizeError } from './sizeUnits';

describe('parseSize (binary units, as the CLI reads them)', () => {
  it('reads bytes and binary units in any spelling', () => {
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseSize('10g')).toBe(10 * 1024 ** 3);
    expect(parseSize(' 1 TB ')).toBe(1024 ** 4);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
  });

  it('refuses what is not a whole, positive, safe number of bytes, saying why', () => {
    expect(() => parseSize('')).toThrow(SizeError);
    expect(() => parseSize('-1G')).toThrow(/bad size "-1G"/);
    expect(() => parseSize('2 GB of disk')).toThrow(/bad size/);
    expect(() => parseSize('3X')).toThrow(/unknown unit "X"/);
    expect(() => parseSize('0.3')).toThrow(/not a whole number of bytes/);
    expect(() => parseSize('9P')).toThrow(/larger than 2\^53/);
  });

  it('writes exact byte counts with separators', () => {
    expect(formatByteCount(1073741824)).toBe('1,073,741,824 bytes');
  });
});
