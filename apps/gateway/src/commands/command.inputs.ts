/**
 * Mutation inputs mirror the contracts' command payloads field for field; the contracts' zod schemas do the
 * validation (ids are UUIDs, names, sizes, enums), so GraphQL types stay loose (ID, String) and errors stay one shape.
 */
import { Field, ID, InputType, Int } from '@nestjs/graphql';
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
