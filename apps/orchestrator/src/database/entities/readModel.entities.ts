/**
 * Read-model rows as TypeORM entities (schema from the DataSource). The projection works on the plain row types
 * (`SiteRow`, …) so the same code fills these tables and the in-memory state used for time travel.
 */
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from '../sql';

export interface Portal {
  host: string;
  port: number;
  portalGroupTag?: number;
}

export interface SiteRow {
  siteId: string;
  name: string;
  description: string | null;
  /** Stream version of the last event applied. */
  version: number;
  createdPosition: number;
  updatedPosition: number;
  createdAt: Date;
}

export interface ClusterRow {
  clusterId: string;
  siteId: string;
  name: string;
  haStrategy: string;
  witness: { host: string; port: number } | null;
  version: number;
  createdPosition: number;
  updatedPosition: number;
  createdAt: Date;
}

export interface NodeRow {
  nodeId: string;
  name: string;
  softwareVersion: string;
  build: string;
  portals: Portal[];
  syncAddresses: Portal[];
  heartbeatAddresses: Portal[];
  capacityBytes: number;
  /** Sum of the sizes of the device replicas placed on this node. */
  allocatedBytes: number;
  clusterId: string | null;
  inMaintenance: boolean;
  maintenanceReason: string | null;
  /** Last health the node's agent reported (`ok`, `degraded`, `failing`); null before its first report. */
  health: string | null;
  /** Why, as the agent said with that report. */
  healthReason: string | null;
  /** False from NodeUnreachable to NodeReachable: the orchestrator has stopped hearing its telemetry. */
  reachable: boolean;
  /** When `reachable` last changed (the event's time); null while it never has. */
  reachabilityChangedAt: Date | null;
  version: number;
  createdPosition: number;
  updatedPosition: number;
  createdAt: Date;
}

/** `pending`: placed, the node has not reported it yet; `exported`: the node serves it; `withdrawn`: it stopped. */
export type ReplicaState = 'pending' | 'exported' | 'withdrawn';

export interface ReplicaRow {
  nodeId: string;
  priority: number;
  state: ReplicaState;
  /** Where the node presents it (from the node's report). */
  targetName: string | null;
  lun: number | null;
  /** The node's last refusal of a command for this replica, cleared by its next report. */
  lastError: string | null;
  /** HA devices: how the replica is wired (fixed at creation) and its HA state as its node last reported it. */
  ha: ReplicaHaRow | null;
  /** Set when this replica's store kind differs from the device's. */
  storeKind?: string;
}

/** A partner as one replica sees it: `synchronized`, `not-synchronized`, `resync-to` / `resync-from` it, `split-brain`. */
export interface PartnerView {
  state: 'synchronized' | 'not-synchronized' | 'resync-to' | 'resync-from' | 'split-brain';
  /** Why it is not synchronized / the split-brain evidence. */
  reason: string | null;
  /** `startedAt` / `progressAt`: when ResyncStarted and the last progress were recorded (ISO), for rate and ETA. */
  resync: { kind: string; doneBytes: number; totalBytes: number; startedAt?: string; progressAt?: string } | null;
}

export interface ReplicaHaRow {
  portGroup: number;
  paths: string;
  syncAddresses: Portal[];
  heartbeatAddresses: Portal[];
  /** ALUA state of the replica's paths (PathStateChanged); null before the first report. */
  accessState: string | null;
  /** Set while the replica refuses I/O (DeviceBlocked), with the reason. */
  blockedReason: string | null;
  /** By partner node id. */
  partners: Record<string, PartnerView>;
}

/** The HA part of a device (DeviceCreated.ha). */
export interface DeviceHaRow {
  strategy: string;
  witness: Portal[];
  initialSync: string;
  syncFromNodeId?: string;
  initialGeneration: string;
}

export interface DeviceRow {
  deviceId: string;
  clusterId: string;
  name: string;
  sizeBytes: number;
  sectorSize: number;
  storeKind: string;
  cacheMode: string;
  replicas: ReplicaRow[];
  /** Null for single-replica devices. */
  ha: DeviceHaRow | null;
  version: number;
  createdPosition: number;
  updatedPosition: number;
  createdAt: Date;
}

/** One alert: raised by an AlertRaised event, kept (inactive) after its AlertCleared. */
export interface AlertRow {
  alertId: string;
  kind: string;
  severity: string;
  subjectKind: string;
  subjectId: string;
  subjectName: string;
  message: string;
  evidence: Record<string, string | number | boolean | null>;
  raisedAt: Date;
  raisedPosition: number;
  active: boolean;
  clearedAt: Date | null;
  clearedMessage: string | null;
  clearedPosition: number | null;
}

@Entity({ name: 'sites' })
export class SiteEntity implements SiteRow {
  @PrimaryColumn('uuid', { name: 'site_id' }) siteId!: string;
  @Column('text') name!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('integer') version!: number;
  @Column('bigint', { name: 'created_position', transformer: bigintColumn }) createdPosition!: number;
  @Column('bigint', { name: 'updated_position', transformer: bigintColumn }) updatedPosition!: number;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'clusters' })
export class ClusterEntity implements ClusterRow {
  @PrimaryColumn('uuid', { name: 'cluster_id' }) clusterId!: string;
  @Column('uuid', { name: 'site_id' }) siteId!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'ha_strategy' }) haStrategy!: string;
  @Column('jsonb', { nullable: true }) witness!: { host: string; port: number } | null;
  @Column('integer') version!: number;
  @Column('bigint', { name: 'created_position', transformer: bigintColumn }) createdPosition!: number;
  @Column('bigint', { name: 'updated_position', transformer: bigintColumn }) updatedPosition!: number;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'nodes' })
export class NodeEntity implements NodeRow {
  @PrimaryColumn('uuid', { name: 'node_id' }) nodeId!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'software_version' }) softwareVersion!: string;
  @Column('text') build!: string;
  @Column('jsonb') portals!: Portal[];
  @Column('jsonb', { name: 'sync_addresses' }) syncAddresses!: Portal[];
  @Column('jsonb', { name: 'heartbeat_addresses' }) heartbeatAddresses!: Portal[];
  @Column('bigint', { name: 'capacity_bytes', transformer: bigintColumn }) capacityBytes!: number;
  @Column('bigint', { name: 'allocated_bytes', transformer: bigintColumn }) allocatedBytes!: number;
  @Column('uuid', { name: 'cluster_id', nullable: true }) clusterId!: string | null;
  @Column('boolean', { name: 'in_maintenance' }) inMaintenance!: boolean;
  @Column('text', { name: 'maintenance_reason', nullable: true }) maintenanceReason!: string | null;
  @Column('text', { nullable: true }) health!: string | null;
  @Column('text', { name: 'health_reason', nullable: true }) healthReason!: string | null;
  @Column('boolean') reachable!: boolean;
  @Column('timestamptz', { name: 'reachability_changed_at', nullable: true }) reachabilityChangedAt!: Date | null;
  @Column('integer') version!: number;
  @Column('bigint', { name: 'created_position', transformer: bigintColumn }) createdPosition!: number;
  @Column('bigint', { name: 'updated_position', transformer: bigintColumn }) updatedPosition!: number;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'devices' })
export class DeviceEntity implements DeviceRow {
  @PrimaryColumn('uuid', { name: 'device_id' }) deviceId!: string;
  @Column('uuid', { name: 'cluster_id' }) clusterId!: string;
  @Column('text') name!: string;
  @Column('bigint', { name: 'size_bytes', transformer: bigintColumn }) sizeBytes!: number;
  @Column('integer', { name: 'sector_size' }) sectorSize!: number;
  @Column('text', { name: 'store_kind' }) storeKind!: string;
  @Column('text', { name: 'cache_mode' }) cacheMode!: string;
  @Column('jsonb') replicas!: ReplicaRow[];
  @Column('jsonb', { nullable: true }) ha!: DeviceHaRow | null;
  @Column('integer') version!: number;
  @Column('bigint', { name: 'created_position', transformer: bigintColumn }) createdPosition!: number;
  @Column('bigint', { name: 'updated_position', transformer: bigintColumn }) updatedPosition!: number;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'alerts' })
export class AlertEntity implements AlertRow {
  @PrimaryColumn('uuid', { name: 'alert_id' }) alertId!: string;
  @Column('text') kind!: string;
  @Column('text') severity!: string;
  @Column('text', { name: 'subject_kind' }) subjectKind!: string;
  @Column('text', { name: 'subject_id' }) subjectId!: string;
  @Column('text', { name: 'subject_name' }) subjectName!: string;
  @Column('text') message!: string;
  @Column('jsonb') evidence!: Record<string, string | number | boolean | null>;
  @Column('timestamptz', { name: 'raised_at' }) raisedAt!: Date;
  @Column('bigint', { name: 'raised_position', transformer: bigintColumn }) raisedPosition!: number;
  @Column('boolean') active!: boolean;
  @Column('timestamptz', { name: 'cleared_at', nullable: true }) clearedAt!: Date | null;
  @Column('text', { name: 'cleared_message', nullable: true }) clearedMessage!: string | null;
  @Column('bigint', { name: 'cleared_position', nullable: true, transformer: bigintColumn }) clearedPosition!: number | null;
}

/**
 * Not a read model: when the orchestrator last heard each node, and its latest telemetry. Observations, not
 * events, so a rebuild leaves this table alone.
 */
@Entity({ name: 'node_liveness' })
export class NodeLivenessEntity {
  @PrimaryColumn('uuid', { name: 'node_id' }) nodeId!: string;
  @Column('timestamptz', { name: 'last_seen_at' }) lastSeenAt!: Date;
  @Column('jsonb') telemetry!: unknown;
}

export const readModelEntities = [SiteEntity, ClusterEntity, NodeEntity, DeviceEntity, AlertEntity, NodeLivenessEntity];
/** Table names, in an order that truncation and comparison can rely on. */
export const READ_MODEL_TABLES = ['sites', 'clusters', 'nodes', 'devices', 'alerts'] as const;
