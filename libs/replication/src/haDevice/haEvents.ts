/** What a HA device reports about itself; the node agent turns these into events through its outbox. */
export type HaEvent =
  | { type: 'ReplicaSynchronized'; partnerNodeId: string }
  | { type: 'ReplicaNotSynchronized'; partnerNodeId: string; reason: string }
  | { type: 'DeviceBlocked'; reason: string }
  | { type: 'DeviceUnblocked'; reason: string }
  | { type: 'ResyncStarted'; partnerNodeId: string; direction: 'to-partner' | 'from-partner'; kind: 'fast' | 'full'; bytes: number }
  | { type: 'ResyncProgress'; partnerNodeId: string; doneBytes: number; totalBytes: number }
  | { type: 'ResyncCompleted'; partnerNodeId: string; kind: 'fast' | 'full'; bytes: number; seconds: number }
  | { type: 'SplitBrainDetected'; partnerNodeId: string; evidence: string }
  | { type: 'SplitBrainResolved'; partnerNodeId: string; survivorNodeId: string }
  | { type: 'PathStateChanged'; portGroup: number; state: 'optimized' | 'non-optimized' | 'standby' | 'unavailable' | 'transitioning' }
  | { type: 'SyncLatencyHigh'; partnerNodeId: string; rttMicros: number };

/** Where this replica stands towards one partner. */
export type PartnerState =
  /** No verdict yet (starting, or the sync links just came back). */
  | 'unknown'
  | 'synchronized'
  | 'not-synchronized'
  /** This replica is newer and copies the differing regions to the partner (the partner already gets new writes). */
  | 'resync-to-partner'
  /** The partner is newer and copies them here; this replica does not serve meanwhile. */
  | 'resync-from-partner'
  /** Both went on alone: an operator must choose the survivor. */
  | 'split-brain';

/** Whether this replica serves I/O. */
export type LocalRole = 'serving' | 'blocked' | 'resync-target';
