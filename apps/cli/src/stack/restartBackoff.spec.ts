import { formatDelay, MAX_RESTART_DELAY_MS, nextRestartAttempt, restartDelayMs, STABLE_UPTIME_MS } from './restartBackoff';

describe('restart backoff', () => {
  it('doubles from 1 s and stops at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50, 5000].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(restartDelayMs(1e9)).toBe(MAX_RESTART_DELAY_MS);
  });

  it('refuses attempts that are not 1, 2, 3 …', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => restartDelayMs(bad)).toThrow(/expected an integer from 1/);
  });

  it('counts up while the agent keeps dying soon after a start, and starts over after a stable run', () => {
    expect(nextRestartAttempt(0, 10)).toBe(1);
    expect(nextRestartAttempt(1, 500)).toBe(2);
    expect(nextRestartAttempt(5, STABLE_UPTIME_MS - 1)).toBe(6);
    expect(nextRestartAttempt(5, STABLE_UPTIME_MS)).toBe(1);
  });

  it('prints delays in seconds', () => {
    expect([1000, 2000, 30000, 1500, 250].map(formatDelay)).toEqual(['1 s', '2 s', '30 s', '1.5 s', '0.3 s']);
  });
});
