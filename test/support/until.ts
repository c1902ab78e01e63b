// The kit's until() under its old path, for the host tier (test/hosts) and test files other changes are editing now;
// everything else imports it from @tandem/testing. This file goes once those do too.
export { until } from '@tandem/testing';
