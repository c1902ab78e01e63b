/**
 * CHAP authentication inside the iSCSI security stage (RFC 7143 §12.1.3, RFC 1994), one-way and mutual.
 * Algorithms: MD5 (5) always; SHA-1 (6), SHA-256 (7) and SHA3-256 (8) when the initiator offers them first.
 */
import { createHash, randomBytes, timingSafeEqual } from 'crypto';
import { TextPairs } from './textParameters';

export interface ChapCredentials {
  username: string;
  secret: string;
  /** For mutual CHAP: the name and secret the target proves itself with. */
  mutualUsername?: string;
  mutualSecret?: string;
}

const ALGORITHMS: Record<string, { hash: string; challengeBytes: number }> = {
  '7': { hash: 'sha256', challengeBytes: 32 },
  '8': { hash: 'sha3-256', challengeBytes: 32 },
  '6': { hash: 'sha1', challengeBytes: 20 },
  '5': { hash: 'md5', challengeBytes: 16 },
};

/** RFC 7143 asks for secrets of at least 12 bytes; we refuse shorter ones at configuration time. */
export const MIN_CHAP_SECRET_LENGTH = 12;

export class ChapError extends Error {
  constructor(message: string, readonly kind: 'protocol' | 'authentication') {
    super(message);
  }
}

export function decodeChapBinary(value: string): Buffer | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) {
    const hex = value.slice(2);
    return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  }
  if (/^0[bB][A-Za-z0-9+/]+=*$/.test(value)) return Buffer.from(value.slice(2), 'base64');
  return undefined;
}

export function chapResponse(hash: string, id: number, secret: string, challenge: Buffer): Buffer {
  return createHash(hash).update(Buffer.from([id])).update(secret, 'utf8').update(challenge).digest();
}

/** State machine for one login: offer → challenge → verify (→ answer the initiator's challenge). */
export class ChapAuthenticator {
  private algorithm?: { code: string; hash: string; challengeBytes: number };
  private id = 0;
  private challenge: Buffer = Buffer.alloc(0);
  private state: 'start' | 'challenged' | 'done' = 'start';

  constructor(private readonly credentials: ChapCredentials) {}

  get done(): boolean {
    return this.state === 'done';
  }

  /** Handles the initiator's keys for this PDU; returns our keys. Throws ChapError on failure. */
  step(offers: Map<string, string>): TextPairs {
    if (this.state === 'start') {
      const offered = offers.get('CHAP_A');
      if (offered === undefined) return []; // initiator has not asked yet (e.g. AuthMethod PDU)
      const code = offered.split(',').find((c) => ALGORITHMS[c]);
      if (!code) throw new ChapError(`no supported CHAP algorithm in "${offered}"`, 'protocol');
      this.algorithm = { code, ...ALGORITHMS[code] };
      this.id = randomBytes(1)[0];
      this.challenge = randomBytes(this.algorithm.challengeBytes);
      this.state = 'challenged';
      return [['CHAP_A', code], ['CHAP_I', String(this.id)], ['CHAP_C', '0x' + this.challenge.toString('hex')]];
    }
    if (this.state !== 'challenged' || !this.algorithm) throw new ChapError('unexpected CHAP keys', 'protocol');
    const name = offers.get('CHAP_N');
    const responseText = offers.get('CHAP_R');
    if (name === undefined || responseText === undefined) throw new ChapError('CHAP_N and CHAP_R are required', 'protocol');
    const response = decodeChapBinary(responseText);
    if (!response) throw new ChapError('CHAP_R is not hex or base64', 'protocol');
    const expected = chapResponse(this.algorithm.hash, this.id, this.credentials.secret, this.challenge);
    const ok = name === this.credentials.username && response.length === expected.length && timingSafeEqual(response, expected);
    if (!ok) throw new ChapError(`CHAP authentication failed for user "${name}"`, 'authentication');
    this.state = 'done';

    const mutualId = offers.get('CHAP_I');
    const mutualChallengeText = offers.get('CHAP_C');
    if (mutualId === undefined && mutualChallengeText === undefined) {
      return [];
    }
    if (mutualId === undefined || mutualChallengeText === undefined) throw new ChapError('mutual CHAP needs CHAP_I and CHAP_C', 'protocol');
    const { mutualUsername, mutualSecret } = this.credentials;
    if (!mutualUsername || !mutualSecret) throw new ChapError('initiator asked for mutual CHAP but none is configured', 'authentication');
    const mid = Number(mutualId);
    const mchallenge = decodeChapBinary(mutualChallengeText);
    if (!Number.isInteger(mid) || mid < 0 || mid > 255 || !mchallenge || mchallenge.length === 0) {
      throw new ChapError('malformed mutual CHAP challenge', 'protocol');
    }
    if (mchallenge.equals(this.challenge)) throw new ChapError('initiator reflected our challenge', 'authentication');
    const answer = chapResponse(this.algorithm.hash, mid, mutualSecret, mchallenge);
    return [['CHAP_N', mutualUsername], ['CHAP_R', '0x' + answer.toString('hex')]];
  }
}
