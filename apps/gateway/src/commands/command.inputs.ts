/**
 * Mutation inputs mirror the contracts' command payloads field for field. Closed sets are GraphQL enums (whose
 * values are the contracts' spellings); the contracts' zod schemas check the rest (UUIDs, names, sizes) and their
 * refusals come back as the payload's InvalidInputError.
 */
import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { CacheMode, HaStrategy, InitialSync, PathPreference, StoreKind } from '../fleet/fleet.enums';
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
  @Field(() => HaStrategy, { nullable: true, description: 'Default HEARTBEAT.' }) haStrategy?: HaStrategy;
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
  @Field(() => StoreKind, { nullable: true, description: 'Default FLAT.' }) storeKind?: StoreKind;
  @Field(() => CacheMode, { nullable: true, description: 'Default WRITE_THROUGH.' }) cacheMode?: CacheMode;
  @Field(() => [ReplicaInput]) replicas!: ReplicaInput[];
}

@InputType()
export class HaReplicaInput {
  @Field(() => ID) nodeId!: string;
  @Field(() => Int, { description: 'Higher wins a split; priorities must differ.' }) priority!: number;
  @Field(() => [AddressInput], { nullable: true, description: "Sync link endpoints; default: the node's registered ones." }) syncAddresses?: AddressInput[];
  @Field(() => [AddressInput], { nullable: true, description: "Heartbeat endpoints; default: the node's registered ones." }) heartbeatAddresses?: AddressInput[];
  @Field(() => PathPreference, { nullable: true, description: 'Default OPTIMIZED.' }) paths?: PathPreference;
  @Field(() => StoreKind, { nullable: true, description: "This replica's store kind; default: the device's." }) storeKind?: StoreKind;
}

@InputType()
export class CreateHaDeviceInput {
  @Field(() => ID, { nullable: true }) deviceId?: string;
  @Field(() => ID) clusterId!: string;
  @Field() name!: string;
  @Field(() => SafeIntScalar) sizeBytes!: number;
  @Field(() => Int, { nullable: true, description: '512 (default) or 4096.' }) sectorSize?: number;
  @Field(() => StoreKind, { nullable: true, description: 'Default FLAT.' }) storeKind?: StoreKind;
  @Field(() => CacheMode, { nullable: true, description: 'Default WRITE_THROUGH.' }) cacheMode?: CacheMode;
  @Field(() => [HaReplicaInput], { description: '2 or 3 replicas, each on its own node.' }) replicas!: HaReplicaInput[];
  @Field(() => HaStrategy, { nullable: true, description: 'Default HEARTBEAT.' }) strategy?: HaStrategy;
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
