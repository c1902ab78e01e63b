/**
 * Mutation inputs mirror the contracts' command payloads field for field; the contracts' zod schemas do the
 * validation (ids are UUIDs, names, sizes, enums), so GraphQL types stay loose (ID, String) and errors stay one shape.
 */
import { Field, ID, InputType, Int, registerEnumType } from '@nestjs/graphql';
import { SafeIntScalar } from '../scalars/scalars';

@InputType()
export class AddressInput {
  @Field() host!: string;
  @Field(() => Int) port!: number;
}

@InputType()
export class PortalInput {
  @Field() host!: string;
  @Field(() => Int, { nullable: true, description: 'Default 3260.' }) port?: number;
}

@InputType()
export class CreateSiteInput {
  @Field(() => ID, { nullable: true, description: 'Choose it to make a retried request idempotent.' }) siteId?: string;
  @Field() name!: string;
  @Field({ nullable: true }) description?: string;
}

@InputType()
export class RenameSiteInput {
  @Field(() => ID) siteId!: string;
  @Field() name!: string;
}

@InputType()
export class DeleteSiteInput {
  @Field(() => ID) siteId!: string;
}

@InputType()
export class CreateClusterInput {
  @Field(() => ID, { nullable: true }) clusterId?: string;
  @Field(() => ID) siteId!: string;
  @Field() name!: string;
  @Field({ nullable: true, description: '`heartbeat` (default) or `node-majority`.' }) haStrategy?: string;
  @Field(() => AddressInput, { nullable: true, description: 'Tie-breaker for node-majority.' }) witness?: AddressInput;
}

@InputType()
export class RenameClusterInput {
  @Field(() => ID) clusterId!: string;
  @Field() name!: string;
}

@InputType()
export class DeleteClusterInput {
  @Field(() => ID) clusterId!: string;
}

@InputType()
export class RegisterNodeInput {
  @Field(() => ID) nodeId!: string;
  @Field() name!: string;
  @Field() version!: string;
  @Field() build!: string;
  @Field(() => [PortalInput]) portals!: PortalInput[];
  @Field(() => [AddressInput], { nullable: true }) syncAddresses?: AddressInput[];
  @Field(() => [AddressInput], { nullable: true }) heartbeatAddresses?: AddressInput[];
  @Field(() => SafeIntScalar) capacityBytes!: number;
}

@InputType()
export class NodeClusterInput {
  @Field(() => ID) nodeId!: string;
  @Field(() => ID) clusterId!: string;
}

@InputType()
export class EnterMaintenanceInput {
  @Field(() => ID) nodeId!: string;
  @Field({ nullable: true }) reason?: string;
}

@InputType()
export class ExitMaintenanceInput {
  @Field(() => ID) nodeId!: string;
}

@InputType()
export class ReplicaInput {
  @Field(() => ID) nodeId!: string;
  @Field(() => Int) priority!: number;
}

@InputType()
export class CreateDeviceInput {
  @Field(() => ID, { nullable: true }) deviceId?: string;
  @Field(() => ID) clusterId!: string;
  @Field() name!: string;
  @Field(() => SafeIntScalar) sizeBytes!: number;
  @Field(() => Int, { nullable: true, description: '512 (default) or 4096.' }) sectorSize?: number;
  @Field({ nullable: true, description: '`FLAT` (default) or `LSFS`.' }) storeKind?: string;
  @Field({ nullable: true, description: '`none`, `write-through` (default) or `write-back`.' }) cacheMode?: string;
  @Field(() => [ReplicaInput]) replicas!: ReplicaInput[];
}

export enum FailoverStrategy {
  HEARTBEAT = 'heartbeat',
  NODE_MAJORITY = 'node-majority',
}
registerEnumType(FailoverStrategy, {
  name: 'FailoverStrategy',
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
  description: 'CLEAR_BOTH: new empty replicas; SYNC_FROM: copy syncFromNodeId\'s data to the others before they serve; NONE: the administrator vouches the replicas already match.',
});

export enum PathPreference {
  OPTIMIZED = 'optimized',
  NON_OPTIMIZED = 'non-optimized',
}
registerEnumType(PathPreference, { name: 'PathPreference', description: "ALUA state of a replica's paths while it serves (asymmetric set-ups mark some nodes NON_OPTIMIZED)." });

@InputType()
export class HaReplicaInput {
  @Field(() => ID) nodeId!: string;
  @Field(() => Int, { description: 'Higher wins a split; priorities must differ.' }) priority!: number;
  @Field(() => [AddressInput], { nullable: true, description: "Sync link endpoints; default: the node's registered ones." }) syncAddresses?: AddressInput[];
  @Field(() => [AddressInput], { nullable: true, description: "Heartbeat endpoints; default: the node's registered ones." }) heartbeatAddresses?: AddressInput[];
  @Field(() => PathPreference, { nullable: true, description: 'Default OPTIMIZED.' }) paths?: PathPreference;
  @Field({ nullable: true, description: "`FLAT` or `LSFS` for this replica; default: the device's." }) storeKind?: string;
}

@InputType()
export class CreateHaDeviceInput {
  @Field(() => ID, { nullable: true }) deviceId?: string;
  @Field(() => ID) clusterId!: string;
  @Field() name!: string;
  @Field(() => SafeIntScalar) sizeBytes!: number;
  @Field(() => Int, { nullable: true, description: '512 (default) or 4096.' }) sectorSize?: number;
  @Field({ nullable: true, description: '`FLAT` (default) or `LSFS`.' }) storeKind?: string;
  @Field({ nullable: true, description: '`none`, `write-through` (default) or `write-back`.' }) cacheMode?: string;
  @Field(() => [HaReplicaInput], { description: '2 or 3 replicas, each on its own node.' }) replicas!: HaReplicaInput[];
  @Field(() => FailoverStrategy, { nullable: true, description: 'Default HEARTBEAT.' }) strategy?: FailoverStrategy;
  @Field(() => [AddressInput], { nullable: true, description: '`tandem witness` endpoints (UDP), for NODE_MAJORITY.' }) witness?: AddressInput[];
  @Field(() => InitialSync, { nullable: true, description: 'Default CLEAR_BOTH.' }) initialSync?: InitialSync;
  @Field(() => ID, { nullable: true, description: 'With SYNC_FROM: the node whose replica holds the data.' }) syncFromNodeId?: string;
}

@InputType()
export class ResolveSplitBrainInput {
  @Field(() => ID) deviceId!: string;
  @Field(() => ID, { description: "The node whose replica's data survives; the other replicas are overwritten with a copy of it." }) survivorNodeId!: string;
}

@InputType()
export class ResizeDeviceInput {
  @Field(() => ID) deviceId!: string;
  @Field(() => SafeIntScalar, { description: 'Grow only.' }) sizeBytes!: number;
}

@InputType()
export class DeleteDeviceInput {
  @Field(() => ID) deviceId!: string;
}

/** GraphQL `null` for an optional field means "not given"; the contracts' schemas want it absent. */
export function toPayload(input: unknown): unknown {
  if (Array.isArray(input)) return input.map(toPayload);
  if (input !== null && typeof input === 'object' && !(input instanceof Date)) {
    return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, toPayload(v)]));
  }
  return input;
}
