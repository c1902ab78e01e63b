/** GraphQL object types for the fleet, mapped from the orchestrator's read-model rows. */
import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import type { ClusterRow, DeviceRow, FleetSnapshot, NodeRow, ReplicaRow, SiteRow } from '@tandem/orchestrator';
import { SafeIntScalar } from '../scalars/scalars';

/**
 * What the control plane knows of a node or replica. The read models know maintenance only; the HA issue adds
 * synchronisation state (from node reports) behind the same field.
 */
export enum ReplicaState {
  ACTIVE = 'ACTIVE',
  MAINTENANCE = 'MAINTENANCE',
}
registerEnumType(ReplicaState, { name: 'ReplicaState' });

/** Whether the replica's node presents it, as the node last reported. */
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

/**
 * Derived from every replica's reported HA state and node liveness (apps/orchestrator/src/health/deviceHealth.ts).
 */
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

/** Set on objects read from a time-travel snapshot, so their nested fields come from the same snapshot. */
export interface AsOf {
  asOf?: FleetSnapshot;
}

@ObjectType()
export class Address {
  @Field() host!: string;
  @Field(() => Int) port!: number;
}

@ObjectType({ description: 'A place (room, building) that holds clusters.' })
export class Site implements AsOf {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Int, { description: 'Stream version of the last event applied.' }) version!: number;
  @Field(() => SafeIntScalar) createdPosition!: number;
  @Field(() => SafeIntScalar) updatedPosition!: number;
  @Field() createdAt!: Date;
  asOf?: FleetSnapshot;
}

@ObjectType({ description: 'Nodes of one site that mirror devices between them; one software version across the cluster.' })
export class Cluster implements AsOf {
  @Field(() => ID) id!: string;
  @Field(() => ID) siteId!: string;
  @Field() name!: string;
  @Field() haStrategy!: string;
  @Field(() => Address, { nullable: true }) witness!: Address | null;
  @Field(() => Int) version!: number;
  @Field(() => SafeIntScalar) createdPosition!: number;
  @Field(() => SafeIntScalar) updatedPosition!: number;
  @Field() createdAt!: Date;
  asOf?: FleetSnapshot;
}

@ObjectType({ description: 'A storage server running a node agent.' })
export class Node implements AsOf {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() softwareVersion!: string;
  @Field() build!: string;
  @Field(() => [Address]) portals!: Address[];
  @Field(() => [Address]) syncAddresses!: Address[];
  @Field(() => [Address]) heartbeatAddresses!: Address[];
  @Field(() => SafeIntScalar) capacityBytes!: number;
  @Field(() => SafeIntScalar, { description: 'Sum of the sizes of the device replicas placed on this node.' }) allocatedBytes!: number;
  @Field(() => ID, { nullable: true }) clusterId!: string | null;
  @Field() inMaintenance!: boolean;
  @Field(() => String, { nullable: true }) maintenanceReason!: string | null;
  @Field(() => ReplicaState) state!: ReplicaState;
  @Field({ description: 'False while the control plane does not hear it (NodeUnreachable until NodeReachable).' }) reachable!: boolean;
  @Field(() => Date, { nullable: true, description: 'When `reachable` last changed.' }) reachabilityChangedAt!: Date | null;
  healthRow!: string | null;
  healthReason!: string | null;
  @Field(() => Int) version!: number;
  @Field(() => SafeIntScalar) createdPosition!: number;
  @Field(() => SafeIntScalar) updatedPosition!: number;
  @Field() createdAt!: Date;
  asOf?: FleetSnapshot;
}

@ObjectType({ description: 'A partner replica as this replica last reported it.' })
export class PartnerStatus {
  @Field(() => ID) nodeId!: string;
  @Field({ description: '`synchronized`, `not-synchronized`, `resync-to` (this replica copies to it), `resync-from`, `split-brain`.' }) state!: string;
  @Field(() => String, { nullable: true, description: 'Why it is not synchronized, or the split-brain evidence.' }) reason!: string | null;
  @Field(() => String, { nullable: true, description: '`fast` or `full` while a resync runs.' }) resyncKind!: string | null;
  @Field(() => SafeIntScalar, { nullable: true }) resyncDoneBytes!: number | null;
  @Field(() => SafeIntScalar, { nullable: true }) resyncTotalBytes!: number | null;
}

@ObjectType({ description: 'A HA replica: its wiring and its state as its node last reported it.' })
export class ReplicaHa {
  @Field(() => Int, { description: "The node's target port group for this device (REPORT TARGET PORT GROUPS)." }) portGroup!: number;
  @Field({ description: '`optimized` or `non-optimized` while serving.' }) paths!: string;
  @Field(() => [Address]) syncAddresses!: Address[];
  @Field(() => [Address]) heartbeatAddresses!: Address[];
  @Field(() => String, { nullable: true, description: 'ALUA state of its paths now (`optimized`, `non-optimized`, `standby`, `unavailable`); null before the first report.' })
  accessState!: string | null;
  @Field() blocked!: boolean;
  @Field(() => String, { nullable: true }) blockedReason!: string | null;
  @Field(() => [PartnerStatus]) partners!: PartnerStatus[];
}

@ObjectType({ description: 'The HA settings of a device.' })
export class DeviceHa {
  @Field({ description: '`heartbeat` or `node-majority`.' }) strategy!: string;
  @Field(() => [Address]) witness!: Address[];
  @Field({ description: '`CLEAR_BOTH`, `SYNC_FROM` or `NONE`.' }) initialSync!: string;
  @Field(() => ID, { nullable: true }) syncFromNodeId!: string | null;
}

@ObjectType({ description: 'One copy of a device, on one node.' })
export class Replica implements AsOf {
  @Field(() => ID) nodeId!: string;
  @Field(() => Int, { description: 'Higher wins: with sync down and heartbeat up, the lower-priority replica blocks I/O.' }) priority!: number;
  @Field(() => ReplicaExport) export!: ReplicaExport;
  @Field(() => String, { nullable: true, description: 'iSCSI target the node presents it on.' }) targetName!: string | null;
  @Field(() => Int, { nullable: true }) lun!: number | null;
  @Field(() => String, { nullable: true, description: "The node's last refusal of a command for this replica; cleared by its next report." }) lastError!: string | null;
  @Field(() => ReplicaHa, { nullable: true, description: 'HA devices only.' }) ha!: ReplicaHa | null;
  @Field(() => String, { nullable: true, description: "This replica's store kind when it differs from the device's." }) storeKind?: string | null;
  asOf?: FleetSnapshot;
}

@ObjectType({ description: 'A logical unit: one LU identity whatever the number of replicas.' })
export class Device implements AsOf {
  @Field(() => ID) id!: string;
  @Field(() => ID) clusterId!: string;
  @Field() name!: string;
  @Field(() => SafeIntScalar) sizeBytes!: number;
  @Field(() => Int) sectorSize!: number;
  @Field() storeKind!: string;
  @Field() cacheMode!: string;
  @Field(() => DeviceHa, { nullable: true, description: 'Null for a single-replica device.' }) ha!: DeviceHa | null;
  @Field(() => Int) version!: number;
  @Field(() => SafeIntScalar) createdPosition!: number;
  @Field(() => SafeIntScalar) updatedPosition!: number;
  @Field() createdAt!: Date;
  replicaRows!: ReplicaRow[];
  asOf?: FleetSnapshot;
}

export const toSite = (row: SiteRow, asOf?: FleetSnapshot): Site => ({ ...row, id: row.siteId, asOf });
export const toCluster = (row: ClusterRow, asOf?: FleetSnapshot): Cluster => ({ ...row, id: row.clusterId, asOf });
export const toNode = (row: NodeRow, asOf?: FleetSnapshot): Node => ({
  ...row,
  id: row.nodeId,
  state: row.inMaintenance ? ReplicaState.MAINTENANCE : ReplicaState.ACTIVE,
  healthRow: row.health,
  asOf,
});
const toReplicaHa = (ha: NonNullable<ReplicaRow['ha']>): ReplicaHa => ({
  ...ha,
  blocked: ha.blockedReason !== null,
  partners: Object.entries(ha.partners).map(([nodeId, p]) => ({
    nodeId,
    state: p.state,
    reason: p.reason,
    resyncKind: p.resync?.kind ?? null,
    resyncDoneBytes: p.resync?.doneBytes ?? null,
    resyncTotalBytes: p.resync?.totalBytes ?? null,
  })),
});
export const toReplica = (row: ReplicaRow, asOf?: FleetSnapshot): Replica => ({
  ...row,
  export: row.state.toUpperCase() as ReplicaExport,
  // Rows projected before HA devices existed have no `ha`.
  ha: row.ha ? toReplicaHa(row.ha) : null,
  asOf,
});
export const toDevice = (row: DeviceRow, asOf?: FleetSnapshot): Device => ({
  ...row,
  id: row.deviceId,
  ha: row.ha ? { ...row.ha, syncFromNodeId: row.ha.syncFromNodeId ?? null } : null,
  replicaRows: row.replicas,
  asOf,
});
