/** `Authorization: Bearer <token>`, compared in constant time (digests first, so lengths leak nothing either). */
import { createHash, timingSafeEqual } from 'crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export function tokensMatch(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token of an `Authorization` header value, or undefined when there is none or it is not a Bearer one. */
export function bearerTokenOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : undefined;
}

export function isAuthorized(header: string | string[] | undefined, expected: string): boolean {
  const token = bearerTokenOf(header);
  return token !== undefined && tokensMatch(token, expected);
}
