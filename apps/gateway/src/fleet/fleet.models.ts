/** GraphQL object types for the fleet, mapped from the orchestrator's read-model rows. */
import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import type { ClusterRow, DeviceRow, FleetSnapshot, NodeRow, ReplicaRow, SiteRow } from '@tandem/orchestrator';
import { RelayNode, type Typed } from '../relay/node.interface';
import { SafeIntScalar } from '../scalars/scalars';
import { AccessState, CacheMode, HaStrategy, InitialSync, PartnerSyncState, PathPreference, ReplicaExport, ReplicaState, ResyncKind, StoreKind } from './fleet.enums';

/** Set on objects read from a time-travel snapshot, so their nested fields come from the same snapshot. */
export interface AsOf {
  asOf?: FleetSnapshot;
}

@ObjectType()
export class Address {
  @Field() host!: string;
  @Field(() => Int) port!: number;
}

@ObjectType({ description: 'A place (room, building) that holds clusters.', implements: () => [RelayNode] })
export class Site implements AsOf, Typed {
  __typename?: string;
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Int, { description: 'Stream version of the last event applied.' }) version!: number;
  @Field(() => SafeIntScalar) createdPosition!: number;
  @Field(() => SafeIntScalar) updatedPosition!: number;
  @Field() createdAt!: Date;
  asOf?: FleetSnapshot;
}

@ObjectType({ description: 'Nodes of one site that mirror devices between them; one software version across the cluster.', implements: () => [RelayNode] })
export class Cluster implements AsOf, Typed {
  __typename?: string;
  @Field(() => ID) id!: string;
  @Field(() => ID) siteId!: string;
  @Field() name!: string;
  @Field(() => HaStrategy) haStrategy!: HaStrategy;
  @Field(() => Address, { nullable: true }) witness!: Address | null;
  @Field(() => Int) version!: number;
  @Field(() => SafeIntScalar) createdPosition!: number;
  @Field(() => SafeIntScalar) updatedPosition!: number;
  @Field() createdAt!: Date;
  asOf?: FleetSnapshot;
}

@ObjectType('StorageNode', { description: "A storage server running a node agent (named StorageNode so it does not collide with Relay's Node interface).", implements: () => [RelayNode] })
export class StorageNode implements AsOf, Typed {
  __typename?: string;
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
  @Field(() => PartnerSyncState) state!: PartnerSyncState;
  @Field(() => String, { nullable: true, description: 'Why it is not synchronized, or the split-brain evidence.' }) reason!: string | null;
  @Field(() => ResyncKind, { nullable: true, description: 'While a resync runs.' }) resyncKind!: ResyncKind | null;
  @Field(() => SafeIntScalar, { nullable: true }) resyncDoneBytes!: number | null;
  @Field(() => SafeIntScalar, { nullable: true }) resyncTotalBytes!: number | null;
}

@ObjectType({ description: 'A HA replica: its wiring and its state as its node last reported it.' })
export class ReplicaHa {
  @Field(() => Int, { description: "The node's target port group for this device (REPORT TARGET PORT GROUPS)." }) portGroup!: number;
  @Field(() => PathPreference, { description: 'The ALUA state asked for its paths while it serves.' }) paths!: PathPreference;
  @Field(() => [Address]) syncAddresses!: Address[];
  @Field(() => [Address]) heartbeatAddresses!: Address[];
  @Field(() => AccessState, { nullable: true, description: 'ALUA state of its paths now; null before the first report.' }) accessState!: AccessState | null;
  @Field() blocked!: boolean;
  @Field(() => String, { nullable: true }) blockedReason!: string | null;
  @Field(() => [PartnerStatus]) partners!: PartnerStatus[];
}

@ObjectType({ description: 'The HA settings of a device.' })
export class DeviceHa {
  @Field(() => HaStrategy) strategy!: HaStrategy;
  @Field(() => [Address]) witness!: Address[];
  @Field(() => InitialSync) initialSync!: InitialSync;
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
  @Field(() => StoreKind, { nullable: true, description: "This replica's store kind when it differs from the device's." }) storeKind?: StoreKind | null;
  asOf?: FleetSnapshot;
  /** The device it is a copy of (for resolvers; not a field). */
  deviceId?: string;
}

@ObjectType({ description: 'A logical unit: one LU identity whatever the number of replicas.', implements: () => [RelayNode] })
export class Device implements AsOf, Typed {
  __typename?: string;
  @Field(() => ID) id!: string;
  @Field(() => ID) clusterId!: string;
  @Field() name!: string;
  @Field(() => SafeIntScalar) sizeBytes!: number;
  @Field(() => Int) sectorSize!: number;
  @Field(() => StoreKind) storeKind!: StoreKind;
  @Field(() => CacheMode) cacheMode!: CacheMode;
  @Field(() => DeviceHa, { nullable: true, description: 'Null for a single-replica device.' }) ha!: DeviceHa | null;
  @Field(() => Int) version!: number;
  @Field(() => SafeIntScalar) createdPosition!: number;
  @Field(() => SafeIntScalar) updatedPosition!: number;
  @Field() createdAt!: Date;
  replicaRows!: ReplicaRow[];
  asOf?: FleetSnapshot;
}

export const toSite = (row: SiteRow, asOf?: FleetSnapshot): Site => ({ ...row, id: row.siteId, asOf, __typename: 'Site' });
export const toCluster = (row: ClusterRow, asOf?: FleetSnapshot): Cluster => ({ ...row, id: row.clusterId, haStrategy: row.haStrategy as HaStrategy, asOf, __typename: 'Cluster' });
export const toNode = (row: NodeRow, asOf?: FleetSnapshot): StorageNode => ({
  ...row,
  __typename: 'StorageNode',
  id: row.nodeId,
  state: row.inMaintenance ? ReplicaState.MAINTENANCE : ReplicaState.ACTIVE,
  healthRow: row.health,
  asOf,
});
const toReplicaHa = (ha: NonNullable<ReplicaRow['ha']>): ReplicaHa => ({
  ...ha,
  paths: ha.paths as PathPreference,
  accessState: ha.accessState as AccessState | null,
  blocked: ha.blockedReason !== null,
  partners: Object.entries(ha.partners).map(([nodeId, p]) => ({
    nodeId,
    state: p.state as PartnerSyncState,
    reason: p.reason,
    resyncKind: (p.resync?.kind ?? null) as ResyncKind | null,
    resyncDoneBytes: p.resync?.doneBytes ?? null,
    resyncTotalBytes: p.resync?.totalBytes ?? null,
  })),
});
export const toReplica = (row: ReplicaRow, asOf?: FleetSnapshot, deviceId?: string): Replica => ({
  ...row,
  deviceId,
  storeKind: (row.storeKind ?? null) as StoreKind | null,
  export: row.state.toUpperCase() as ReplicaExport,
  // Rows projected before HA devices existed have no `ha`.
  ha: row.ha ? toReplicaHa(row.ha) : null,
  asOf,
});
export const toDevice = (row: DeviceRow, asOf?: FleetSnapshot): Device => ({
  ...row,
  id: row.deviceId,
  __typename: 'Device',
  storeKind: row.storeKind as StoreKind,
  cacheMode: row.cacheMode as CacheMode,
  ha: row.ha ? { ...row.ha, strategy: row.ha.strategy as HaStrategy, initialSync: row.ha.initialSync as InitialSync, syncFromNodeId: row.ha.syncFromNodeId ?? null } : null,
  replicaRows: row.replicas,
  asOf,
});
