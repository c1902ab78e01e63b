/**
 * Sizes typed by the operator: binary units, read the way the CLI's one parser reads them
 * (apps/cli/src/units/size.ts; an app cannot import another app, so the console keeps the same rules here):
 * a bare number is bytes; K/M/G/T/P, KiB…PiB or KB…PB (any case) are powers of 1024; a fraction is fine when it
 * comes out a whole number of bytes; negatives and sizes beyond 2^53 are refused.
 */
const POWERS: Record<string, number> = { '': 0, B: 0, K: 1, M: 2, G: 3, T: 4, P: 5 };

export class SizeError extends Error {}

export function parseSize(text: string): number {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) throw new SizeError(`bad size "${text}": expected a number of bytes or one with a unit (512, 512MiB, 10GiB, 1T)`);
  const upper = m[3].toUpperCase();
  const unit = upper === 'B' ? 'B' : upper.replace(/^([KMGTP])I?B$/, '$1');
  if (!(unit in POWERS)) throw new SizeError(`bad size "${text}": unknown unit "${m[3]}" (B, K, M, G, T, P, or KiB, MiB, GiB, TiB, PiB)`);
  const scale = 1024n ** BigInt(POWERS[unit]);
  const fraction = m[2] ?? '';
  const numerator = BigInt(m[1] + fraction) * scale;
  const denominator = 10n ** BigInt(fraction.length);
  if (numerator % denominator !== 0n) throw new SizeError(`bad size "${text}": not a whole number of bytes`);
  const bytes = numerator / denominator;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new SizeError(`bad size "${text}": larger than 2^53 bytes`);
  return Number(bytes);
}

/** A byte count with thousands separators (the exact number next to its binary rounding). */
export function formatByteCount(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`;
}
