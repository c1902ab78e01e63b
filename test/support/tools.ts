// Finds the external programs the black-box tests drive, and turns a missing one into a visible skip, never a hang.
import * as fs from 'fs';
import * as path from 'path';

const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function missingBinaries(names: string[]): string[] {
  return names.filter((n) => findBinary(n) === undefined);
}

/** Registers one skipped test whose title carries the reason, and prints the reason once. */
export function skipWithReason(title: string, reason: string): void {
  console.warn(`SKIPPED ${title}: ${reason}`);
  test.skip(`${title} [skipped: ${reason}]`, () => undefined);
}

/**
 * `describe` when every named binary is installed; otherwise one skipped test saying which are missing
 * (scripts/test.sh installs them: libiscsi-bin qemu-utils qemu-block-extra tgt).
 */
export function describeWithTools(binaries: string[], title: string, body: () => void): void {
  const missing = missingBinaries(binaries);
  if (missing.length === 0) {
    describe(title, body);
  } else {
    describe(title, () => skipWithReason(title, `missing ${missing.join(', ')}`));
  }
}
