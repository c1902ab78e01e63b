/** The console's figures: binary units as the CLI and the API's sizes read them, durations, relative times. */
import { formatBytes, formatDuration, formatMillis, formatRelative } from './format';

describe('formatBytes', () => {
  it('uses binary units and drops needless decimals', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(64 * 1024 ** 2)).toBe('64 MiB');
    expect(formatBytes(270553174016)).toBe('252 GiB');
    expect(formatBytes(1.25 * 1024 ** 4)).toBe('1.25 TiB');
    expect(formatBytes(-2048)).toBe('-2 KiB');
  });

  it('shows a dash for a missing value', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });
});

describe('formatDuration and formatMillis', () => {
  it('names the two largest units', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(7500)).toBe('2 h 5 min');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3 d 4 h');
    expect(formatDuration(3600)).toBe('1 h');
    expect(formatDuration(null)).toBe('—');
  });

  it('prints round trips in ms below a second', () => {
    expect(formatMillis(0.42)).toBe('0.42 ms');
    expect(formatMillis(12.4)).toBe('12 ms');
    expect(formatMillis(1234)).toBe('1.2 s');
    expect(formatMillis(undefined)).toBe('—');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  it('says how long ago or how soon', () => {
    expect(formatRelative('2026-12-07T11:59:48Z', now)).toBe('12 s ago');
    expect(formatRelative('2026-12-07T12:03:00Z', now)).toBe('in 3 min');
    expect(formatRelative('2026-12-07T12:00:00.300Z', now)).toBe('just now');
    expect(formatRelative(null, now)).toBe('never');
    expect(formatRelative('not a time', now)).toBe('not a time');
  });
});
