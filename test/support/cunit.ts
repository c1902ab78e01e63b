// Reads iscsi-test-cu's verbose CUnit output into suites and tests. CUnit reports a test that printed "[SKIPPED]"
// as passed; here it counts as skipped, so the table says what was really exercised.
export type Outcome = 'passed' | 'failed' | 'skipped';

export interface CunitTest {
  suite: string;
  name: string;
  outcome: Outcome;
  /** First [FAILED]/[SKIPPED] message or assertion line, if any. */
  reason?: string;
}

export interface SuiteCounts {
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
}

export function parseCunit(output: string): CunitTest[] {
  const tests: CunitTest[] = [];
  let suite = '';
  let current: { name: string; skipped?: string; failed?: string; assertion?: string } | undefined;
  let lastFailed: CunitTest | undefined;
  const finish = (result: 'passed' | 'failed') => {
    if (!current) return;
    const outcome: Outcome = result === 'failed' ? 'failed' : current.skipped !== undefined ? 'skipped' : 'passed';
    const reason = outcome === 'failed' ? current.failed ?? current.assertion : outcome === 'skipped' ? current.skipped : undefined;
    const test: CunitTest = { suite, name: current.name, outcome, ...(reason ? { reason } : {}) };
    tests.push(test);
    lastFailed = outcome === 'failed' ? test : undefined;
    current = undefined;
  };
  const note = (text: string) => {
    if (!current) return;
    const skipped = /\[SKIPPED\]\s*(.*)$/.exec(text);
    if (skipped && current.skipped === undefined) current.skipped = skipped[1].trim();
    const failed = /\[FAILED\]\s*(.*)$/.exec(text);
    if (failed && current.failed === undefined) current.failed = failed[1].trim();
  };
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const suiteMatch = /^Suite: (.+?)\s*$/.exec(line);
    if (suiteMatch) {
      finish('failed'); // a test with no verdict before the next suite did not complete
      suite = suiteMatch[1];
      continue;
    }
    const testMatch = /^\s{2}Test: (.+?) \.\.\.(.*)$/.exec(line);
    if (testMatch) {
      finish('failed');
      current = { name: testMatch[1] };
      // CUnit prints the verdict right after "..." or at the start of a line; text after it comes from teardown.
      const verdict = /^(passed|FAILED)\b/.exec(testMatch[2]);
      if (verdict) finish(verdict[1] === 'passed' ? 'passed' : 'failed');
      else note(testMatch[2]);
      continue;
    }
    const trimmed = line.trim();
    const verdict = /^(passed|FAILED)\b/.exec(line);
    if (verdict && current) {
      finish(verdict[1] === 'passed' ? 'passed' : 'failed');
      continue;
    }
    if (!current) {
      // Assertion lines of a FAILED test follow its verdict.
      const assertion = /^\d+\.\s+(.*)$/.exec(trimmed);
      if (assertion && lastFailed && !lastFailed.reason) lastFailed.reason = assertion[1];
      continue;
    }
    if (/^Run Summary:/.test(trimmed)) finish('failed');
    else {
      note(trimmed);
      const assertion = /^\d+\.\s+(.*)$/.exec(trimmed);
      if (assertion && current.assertion === undefined) current.assertion = assertion[1];
    }
  }
  // A run cut short (timeout, crash) leaves the last test without a verdict: that is a failure.
  if (current) tests.push({ suite, name: current.name, outcome: 'failed', reason: 'no verdict (run ended)' });
  return tests;
}

export function countBySuite(tests: CunitTest[]): SuiteCounts[] {
  const bySuite = new Map<string, SuiteCounts>();
  for (const t of tests) {
    const c = bySuite.get(t.suite) ?? { suite: t.suite, passed: 0, failed: 0, skipped: 0 };
    c[t.outcome]++;
    bySuite.set(t.suite, c);
  }
  return [...bySuite.values()];
}
