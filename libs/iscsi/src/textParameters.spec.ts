import { TextFormatError, encodeTextPairs, parseTextPairs } from './textParameters';

describe('text parameters', () => {
  it('round-trips key=value pairs', () => {
    const pairs: Array<[string, string]> = [['InitiatorName', 'iqn.2026-11.io.example:host'], ['SessionType', 'Normal'], ['X', '']];
    expect(parseTextPairs(encodeTextPairs(pairs))).toEqual(pairs);
  });
  it('tolerates a missing final NUL and refuses malformed items', () => {
    expect(parseTextPairs(Buffer.from('A=1\0B=2'))).toEqual([['A', '1'], ['B', '2']]);
    expect(() => parseTextPairs(Buffer.from('novalue\0'))).toThrow(TextFormatError);
    expect(() => parseTextPairs(Buffer.from('=x\0'))).toThrow(TextFormatError);
  });
});
