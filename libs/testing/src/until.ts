// Bounded polling: the probe runs every `intervalMs` until it returns something truthy (a throw counts as "not
// yet", where eventually() lets it fail the test at once); past the deadline the test fails saying what it waited
// for. Never an unbounded wait.
export async function until<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve().then(probe).catch(() => undefined);
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
