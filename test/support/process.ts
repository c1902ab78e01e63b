// The kit's child-process helpers under their old path, for the host tier (test/hosts) and test files other changes
// are editing now; everything else imports them from @tandem/testing. This file goes once those do too.
export { describeResult, run, spawnTracked, stopChild, track, type RunOptions, type RunResult } from '@tandem/testing';
