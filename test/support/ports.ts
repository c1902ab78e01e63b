// The kit's freePort under its old path, for the host tier (test/hosts), whose files another change is editing now.
// Everything else imports it from @tandem/testing; this file goes once test/hosts does too.
export { freePort } from '@tandem/testing';
