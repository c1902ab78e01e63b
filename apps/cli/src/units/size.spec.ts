// The size parser's unit spec: what qemu-img and LINSTOR accept, and what no verb may accept.
import { formatSize, parseSize, SizeError } from './size';

describe('parseSize', () => {
  it.each([
    ['512', 512],
    ['0', 0],
    ['512B', 512],
    ['64K', 65536],
    ['64k', 65536],
    ['100M', 100 * 1024 ** 2],
    ['10G', 10 * 1024 ** 3],
    ['1T', 1024 ** 4],
    ['10GiB', 10 * 1024 ** 3],
    ['4KiB', 4096],
    ['2MiB', 2 * 1024 ** 2],
    ['1TiB', 1024 ** 4],
    ['1GB', 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['0.5K', 512],
    [' 8M ', 8 * 1024 ** 2],
    ['7P', 7 * 1024 ** 5],
  ])('reads %s as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['-1', /expected a number/],
    ['-10G', /expected a number/],
    ['1.5', /whole number of bytes/],
    ['0.3K', /whole number of bytes/],
    ['10X', /unknown unit/],
    ['10iB', /unknown unit/],
    ['', /expected a number/],
    ['G', /expected a number/],
    ['1e9', /expected a number/],
    ['8P', /larger than 2\^53/],
    ['9007199254740993', /larger than 2\^53/],
  ])('refuses %s', (text, why) => {
    expect(() => parseSize(text)).toThrow(SizeError);
    expect(() => parseSize(text)).toThrow(why);
  });

  it('accepts 2^53 - 1 bytes exactly', () => {
    expect(parseSize(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('formatSize', () => {
  it('names the largest unit that divides exactly', () => {
    expect(formatSize(10 * 1024 ** 3)).toBe('10G');
    expect(formatSize(1536 * 1024 ** 2)).toBe('1536M');
    expect(formatSize(1000)).toBe('1000');
    expect(formatSize(0)).toBe('0');
  });
});
