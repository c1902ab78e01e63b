/** Every closed set the fleet's types expose, as GraphQL enums: names in SCREAMING_CASE, values as the contracts spell them. */
import { registerEnumType } from '@nestjs/graphql';

/** Whether a node (or a replica's node) is in maintenance. */
export enum ReplicaState {
  ACTIVE = 'ACTIVE',
  MAINTENANCE = 'MAINTENANCE',
}
registerEnumType(ReplicaState, { name: 'ReplicaState' });

/** Whether the replica's node presents it, as the node last reported (read-model values are lower case). */
export enum ReplicaExport {
  PENDING = 'PENDING',
  EXPORTED = 'EXPORTED',
  WITHDRAWN = 'WITHDRAWN',
}
registerEnumType(ReplicaExport, { name: 'ReplicaExport', description: 'PENDING: placed, not reported by its node yet; EXPORTED: the node serves it; WITHDRAWN: it stopped.' });

export enum NodeHealth {
  OK = 'OK',
  DEGRADED = 'DEGRADED',
  FAILING = 'FAILING',
  UNREACHABLE = 'UNREACHABLE',
}
registerEnumType(NodeHealth, {
  name: 'NodeHealth',
  description: "OK; DEGRADED (see healthReasons); FAILING (its agent says it cannot serve); UNREACHABLE: the control plane has not heard it for the silence period (it may still serve and mirror).",
});

/** Derived from every replica's reported HA state and node liveness (apps/orchestrator/src/health/deviceHealth.ts). */
export enum DeviceState {
  ONLINE = 'ONLINE',
  DEGRADED = 'DEGRADED',
  RESYNCING = 'RESYNCING',
  BLOCKED = 'BLOCKED',
  SPLIT_BRAIN = 'SPLIT_BRAIN',
  OFFLINE = 'OFFLINE',
  PENDING = 'PENDING',
}
registerEnumType(DeviceState, {
  name: 'DeviceState',
  description:
    'ONLINE: every replica synchronized and serving. DEGRADED: some replica not synchronized or unreachable (health.reasons says which and why). RESYNCING: a resync runs (health.resyncs: bytes, rate, ETA). BLOCKED: arbitration stopped I/O on every replica (health.blockedReasons). SPLIT_BRAIN: replicas diverged; the operator must choose (health.splitBrainEvidence, resolveSplitBrain). OFFLINE: no replica serves. PENDING: no node has reported it yet.',
});

export enum StoreKind {
  FLAT = 'FLAT',
  LSFS = 'LSFS',
}
registerEnumType(StoreKind, { name: 'StoreKind', description: 'FLAT: a preallocated image file; LSFS: a log-structured store (thin, snapshots).' });

export enum CacheMode {
  NONE = 'none',
  WRITE_THROUGH = 'write-through',
  WRITE_BACK = 'write-back',
}
registerEnumType(CacheMode, { name: 'CacheMode', description: 'The node-side write cache: NONE, WRITE_THROUGH (reads cached) or WRITE_BACK (writes acknowledged from RAM, flushed behind).' });

export enum HaStrategy {
  HEARTBEAT = 'heartbeat',
  NODE_MAJORITY = 'node-majority',
}
registerEnumType(HaStrategy, {
  name: 'HaStrategy',
  description:
    'HEARTBEAT: with every sync link down, a partner answering on the heartbeat makes the lower-priority replica block; a silent one is presumed dead. ' +
    'NODE_MAJORITY: a replica serves only while it reaches a majority of the replicas (+ the witness).',
});

export enum InitialSync {
  CLEAR_BOTH = 'CLEAR_BOTH',
  SYNC_FROM = 'SYNC_FROM',
  NONE = 'NONE',
}
registerEnumType(InitialSync, {
  name: 'InitialSync',
  description: "CLEAR_BOTH: new empty replicas; SYNC_FROM: copy syncFromNodeId's data to the others before they serve; NONE: the administrator vouches the replicas already match.",
});

export enum PathPreference {
  OPTIMIZED = 'optimized',
  NON_OPTIMIZED = 'non-optimized',
}
registerEnumType(PathPreference, { name: 'PathPreference', description: "ALUA state of a replica's paths while it serves (asymmetric set-ups mark some nodes NON_OPTIMIZED)." });

export enum AccessState {
  OPTIMIZED = 'optimized',
  NON_OPTIMIZED = 'non-optimized',
  STANDBY = 'standby',
  UNAVAILABLE = 'unavailable',
  TRANSITIONING = 'transitioning',
}
registerEnumType(AccessState, { name: 'AccessState', description: "ALUA asymmetric access state of a replica's paths (REPORT TARGET PORT GROUPS), as its node last reported." });

export enum PartnerSyncState {
  SYNCHRONIZED = 'synchronized',
  NOT_SYNCHRONIZED = 'not-synchronized',
  RESYNC_TO = 'resync-to',
  RESYNC_FROM = 'resync-from',
  SPLIT_BRAIN = 'split-brain',
}
registerEnumType(PartnerSyncState, {
  name: 'PartnerSyncState',
  description: 'A partner as one replica sees it: SYNCHRONIZED, NOT_SYNCHRONIZED (reason says why), RESYNC_TO (this replica copies to it), RESYNC_FROM, SPLIT_BRAIN.',
});

export enum ResyncKind {
  FAST = 'fast',
  FULL = 'full',
}
registerEnumType(ResyncKind, { name: 'ResyncKind', description: 'FAST: the dirty regions only; FULL: every byte.' });
