/** key=value pairs of Login and Text PDUs (RFC 7143 §6): NUL-separated, UTF-8. */

export type TextPairs = Array<[string, string]>;

export class TextFormatError extends Error {}

export const MAX_KEY_LENGTH = 63;
export const MAX_VALUE_LENGTH = 8192;

export function parseTextPairs(data: Buffer): TextPairs {
  const pairs: TextPairs = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    if (end > start) {
      const item = data.toString('utf8', start, end);
      const eq = item.indexOf('=');
      if (eq <= 0) throw new TextFormatError(`malformed text parameter "${item.slice(0, 80)}"`);
      const key = item.slice(0, eq);
      const value = item.slice(eq + 1);
      if (key.length > MAX_KEY_LENGTH || !/^[A-Za-z0-9.\-+@_]+$/.test(key)) {
        throw new TextFormatError(`malformed key "${key.slice(0, 80)}"`);
      }
      if (value.length > MAX_VALUE_LENGTH) throw new TextFormatError(`value of ${key} is too long`);
      pairs.push([key, value]);
    }
    start = end + 1;
  }
  return pairs;
}

export function encodeTextPairs(pairs: TextPairs): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}
