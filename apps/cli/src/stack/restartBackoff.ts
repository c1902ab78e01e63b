/** When the stack restarts a dead node agent: exponential backoff, capped, reset once the agent has stayed up. Pure. */

export const FIRST_RESTART_DELAY_MS = 1000;
export const MAX_RESTART_DELAY_MS = 30_000;
/** An agent that ran this long before dying is a fresh failure, not a crash loop: backoff starts over. */
export const STABLE_UPTIME_MS = 60_000;

/** Delay before restart attempt `attempt` (1, 2, 3 …): 1 s, 2 s, 4 s … capped at 30 s. */
export function restartDelayMs(attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`restart attempt ${attempt}: expected an integer from 1`);
  // 2^5 s already passes the cap: no overflow for large attempts.
  return Math.min(FIRST_RESTART_DELAY_MS * 2 ** Math.min(attempt - 1, 16), MAX_RESTART_DELAY_MS);
}

/** The attempt number for the restart after a death: 1 after a stable run (or the first death), else one more. */
export function nextRestartAttempt(previousAttempt: number, uptimeMs: number): number {
  return previousAttempt === 0 || uptimeMs >= STABLE_UPTIME_MS ? 1 : previousAttempt + 1;
}

/** `1 s`, `30 s`, `1.5 s`: for messages. */
export function formatDelay(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
