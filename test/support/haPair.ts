// The kit's HA pair under its old path, for the host tier (test/hosts), whose files another change is editing now;
// everything else imports it from @tandem/testing. This file goes once test/hosts does too.
export { HA_IQN, haEvents, haPair, haTrio, kill9, startNode, stopNode, type HaHostPlacement, type HaNode, type HaPairOptions, type HaTrioOptions } from '@tandem/testing';
