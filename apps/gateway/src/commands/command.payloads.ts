/**
 * One payload type per mutation: what every accepted command returns (`MutationPayload`), the object it created or
 * changed, and `errors`, a per-mutation union of the user errors it may return.
 */
import type { Type } from '@nestjs/common';
import { createUnionType, Field, ID, Int, InterfaceType, ObjectType } from '@nestjs/graphql';
import { Cluster, Device, Site, StorageNode } from '../fleet/fleet.models';
import type { Typed } from '../relay/node.interface';
import { SafeIntScalar } from '../scalars/scalars';
import { USER_ERROR_TYPES, type AnyUserError } from './userErrors';

@InterfaceType('MutationPayload', { description: 'What every mutation answers. With `errors` empty the orchestrator accepted the command and the read models include its events; otherwise nothing was written and the ids are null.', resolveType: (value: Typed) => value.__typename })
export abstract class MutationPayload {
  @Field(() => ID, { nullable: true }) commandId!: string | null;
  @Field(() => ID, { nullable: true, description: 'Id of the site, cluster, node or device the command created or changed.' }) aggregateId!: string | null;
  @Field(() => Int, { nullable: true, description: 'Stream version after the command; null when nothing had to change.' }) streamVersion!: number | null;
  @Field(() => SafeIntScalar, { nullable: true, description: 'Global position of the last event written.' }) globalPosition!: number | null;
  __typename?: string;
}

/** A payload as the mutations build it, with the object it created or changed. */
export type PayloadValue = MutationPayload & { errors: AnyUserError[] } & Partial<Record<EntityField, unknown>>;
export type EntityField = 'site' | 'cluster' | 'node' | 'device';

const ENTITY_TYPES: Record<EntityField, () => Type<unknown>> = { site: () => Site, cluster: () => Cluster, node: () => StorageNode, device: () => Device };

/** `<Name>Payload implements MutationPayload { … <entity> errors: [<Name>Error!]! }` with `<Name>Error` a union of the user errors. */
function payloadType(name: string, entity: EntityField | null): Type<MutationPayload> {
  const errorUnion = createUnionType({
    name: `${name}Error`,
    types: () => USER_ERROR_TYPES,
    resolveType: (value: Typed) => value.__typename,
  });
  @ObjectType(`${name}Payload`, { implements: () => [MutationPayload] })
  class Payload extends MutationPayload {
    @Field(() => [errorUnion], { description: 'Why the command was refused; empty when accepted.' }) errors!: AnyUserError[];
  }
  if (entity) Field(ENTITY_TYPES[entity], { nullable: true, description: 'As the read models hold it now (null once deleted, or when refused).' })(Payload.prototype, entity);
  return Payload;
}

export const CreateSitePayload = payloadType('CreateSite', 'site');
export const RenameSitePayload = payloadType('RenameSite', 'site');
export const DeleteSitePayload = payloadType('DeleteSite', null);
export const CreateClusterPayload = payloadType('CreateCluster', 'cluster');
export const RenameClusterPayload = payloadType('RenameCluster', 'cluster');
export const DeleteClusterPayload = payloadType('DeleteCluster', null);
export const RegisterNodePayload = payloadType('RegisterNode', 'node');
export const AddNodeToClusterPayload = payloadType('AddNodeToCluster', 'node');
export const RemoveNodeFromClusterPayload = payloadType('RemoveNodeFromCluster', 'node');
export const EnterMaintenancePayload = payloadType('EnterMaintenance', 'node');
export const ExitMaintenancePayload = payloadType('ExitMaintenance', 'node');
export const CreateDevicePayload = payloadType('CreateDevice', 'device');
export const CreateHaDevicePayload = payloadType('CreateHaDevice', 'device');
export const ResolveSplitBrainPayload = payloadType('ResolveSplitBrain', 'device');
export const ResizeDevicePayload = payloadType('ResizeDevice', 'device');
export const DeleteDevicePayload = payloadType('DeleteDevice', null);
