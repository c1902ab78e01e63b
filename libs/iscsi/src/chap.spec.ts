import { ChapAuthenticator, ChapError, chapResponse, decodeChapBinary } from './chap';

const creds = { username: 'alice', secret: 'alice-secret-123', mutualUsername: 'target', mutualSecret: 'target-secret-456' };

function challenge(auth: ChapAuthenticator, algorithms = '5') {
  const out = new Map(auth.step(new Map([['CHAP_A', algorithms]])));
  return { a: out.get('CHAP_A')!, id: Number(out.get('CHAP_I')), c: decodeChapBinary(out.get('CHAP_C')!)! };
}

describe('ChapAuthenticator', () => {
  it('accepts the right MD5 response and refuses a wrong secret', () => {
    const auth = new ChapAuthenticator(creds);
    const { id, c } = challenge(auth);
    const r = chapResponse('md5', id, creds.secret, c);
    expect(auth.step(new Map([['CHAP_N', 'alice'], ['CHAP_R', '0x' + r.toString('hex')]]))).toEqual([]);
    expect(auth.done).toBe(true);

    const other = new ChapAuthenticator(creds);
    const ch = challenge(other);
    const wrong = chapResponse('md5', ch.id, 'not-the-secret', ch.c);
    expect(() => other.step(new Map([['CHAP_N', 'alice'], ['CHAP_R', '0x' + wrong.toString('hex')]]))).toThrow(ChapError);
  });

  it('chooses SHA-256 when the initiator prefers it and answers a mutual challenge', () => {
    const auth = new ChapAuthenticator(creds);
    const { a, id, c } = challenge(auth, '7,5');
    expect(a).toBe('7');
    expect(c.length).toBe(32);
    const r = chapResponse('sha256', id, creds.secret, c);
    const mine = Buffer.alloc(32, 9);
    const out = new Map(auth.step(new Map([['CHAP_N', 'alice'], ['CHAP_R', '0b' + r.toString('base64')], ['CHAP_I', '77'], ['CHAP_C', '0x' + mine.toString('hex')]])));
    expect(out.get('CHAP_N')).toBe('target');
    expect(decodeChapBinary(out.get('CHAP_R')!)).toEqual(chapResponse('sha256', 77, creds.mutualSecret, mine));
  });

  it('refuses a reflected challenge and unsupported algorithms', () => {
    const auth = new ChapAuthenticator(creds);
    const { id, c } = challenge(auth);
    const r = chapResponse('md5', id, creds.secret, c);
    expect(() => auth.step(new Map([['CHAP_N', 'alice'], ['CHAP_R', '0x' + r.toString('hex')], ['CHAP_I', '1'], ['CHAP_C', '0x' + c.toString('hex')]]))).toThrow(/reflected/);
    expect(() => new ChapAuthenticator(creds).step(new Map([['CHAP_A', '99']]))).toThrow(ChapError);
  });
});
