/**
 * The one size parser for every verb. Binary units as qemu-img and LINSTOR read them: a bare number is bytes;
 * K/M/G/T/P (also KiB/MiB/GiB/TiB/PiB, KB..., any case, an optional B) are powers of 1024. `1.5G` is fine when it
 * is a whole number of bytes; fractions of a byte, negatives and sizes beyond 2^53 are refused.
 */
const POWERS: Record<string, number> = { '': 0, B: 0, K: 1, M: 2, G: 3, T: 4, P: 5 };

export class SizeError extends Error {}

export function parseSize(text: string): number {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) throw new SizeError(`bad size "${text}": expected a number of bytes or one with a unit (512, 64K, 100M, 10G, 1T, 10GiB)`);
  const upper = m[3].toUpperCase();
  const unit = upper === 'B' ? 'B' : upper.replace(/^([KMGTP])I?B$/, '$1');
  if (!(unit in POWERS)) throw new SizeError(`bad size "${text}": unknown unit "${m[3]}" (B, K, M, G, T, P, or KiB, MiB, GiB, TiB, PiB)`);
  const scale = 1024n ** BigInt(POWERS[unit]);
  const fraction = m[2] ?? '';
  // Exact arithmetic: numerator / 10^digits must come out a whole number of bytes.
  const numerator = BigInt(m[1] + fraction) * scale;
  const denominator = 10n ** BigInt(fraction.length);
  if (numerator % denominator !== 0n) throw new SizeError(`bad size "${text}": not a whole number of bytes`);
  const bytes = numerator / denominator;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new SizeError(`bad size "${text}": larger than 2^53 bytes`);
  return Number(bytes);
}

/** Bytes as the largest binary unit that divides them exactly (10737418240 → 10G), for tables. */
export function formatSize(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let n = bytes;
  while (i < units.length - 1 && n >= 1024 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n}${units[i]}`;
}
