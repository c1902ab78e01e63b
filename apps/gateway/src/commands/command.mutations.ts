/**
 * One mutation per orchestrator command. Each is checked against the contracts, sent over NATS request/reply, and
 * answered once the read models include its events (bounded wait), so a query right after sees the change.
 * Refusals come back as the payload's typed `errors`; the bearer token is checked before execution
 * (limits/operationGuard.plugin.ts), so nothing is sent without it.
 */
import { Inject } from '@nestjs/common';
import { Args, Context, Mutation, Resolver } from '@nestjs/graphql';
import type { TandemCommandType } from '@tandem/contracts';
import type { GatewayContext } from '../context';
import { unauthenticated } from '../errors';
import { toCluster, toDevice, toNode, toSite } from '../fleet/fleet.models';
import { FleetReader } from '../fleet/fleetReader';
import {
  CreateClusterInput,
  CreateDeviceInput,
  CreateHaDeviceInput,
  CreateSiteInput,
  DeleteClusterInput,
  DeleteDeviceInput,
  DeleteSiteInput,
  EnterMaintenanceInput,
  ExitMaintenanceInput,
  NodeClusterInput,
  RegisterNodeInput,
  RenameClusterInput,
  RenameSiteInput,
  ResizeDeviceInput,
  ResolveSplitBrainInput,
  toPayload,
} from './command.inputs';
import {
  AddNodeToClusterPayload,
  CreateClusterPayload,
  CreateDevicePayload,
  CreateHaDevicePayload,
  CreateSitePayload,
  DeleteClusterPayload,
  DeleteDevicePayload,
  DeleteSitePayload,
  EnterMaintenancePayload,
  ExitMaintenancePayload,
  RegisterNodePayload,
  RemoveNodeFromClusterPayload,
  RenameClusterPayload,
  RenameSitePayload,
  ResizeDevicePayload,
  ResolveSplitBrainPayload,
  type EntityField,
  type PayloadValue,
} from './command.payloads';
import { CommandSender } from './commandSender';
import { userErrorOf } from './userErrors';

/** How long a mutation waits for the read models to include its events before answering without the object. */
const PROJECTION_WAIT_MS = 30_000;

@Resolver()
export class CommandMutations {
  constructor(
    @Inject(CommandSender) private readonly sender: CommandSender,
    @Inject(FleetReader) private readonly fleet: FleetReader,
  ) {}

  private async run(ctx: GatewayContext, type: TandemCommandType, payload: string, entity: EntityField | null, input: unknown): Promise<PayloadValue> {
    // The operation guard already refused unauthenticated mutations; this keeps a resolver safe on its own.
    if (!ctx.authenticated) throw unauthenticated();
    let reply;
    try {
      reply = await this.sender.send(type, toPayload(input), ctx.actor);
    } catch (error) {
      const userError = userErrorOf(error);
      if (!userError) throw error;
      return { __typename: payload, commandId: null, aggregateId: null, streamVersion: null, globalPosition: null, errors: [userError] };
    }
    // The payload shows the object as of this command or later, never the row from before it: on a loaded machine
    // the projector can lag more than a few seconds, and a stale row (inMaintenance still false right after
    // enterMaintenance) read as "now" would be wrong. Still behind at the bound: no object rather than an old one.
    const caughtUp = reply.globalPosition === undefined || (await this.fleet.waitForProjection(reply.globalPosition, PROJECTION_WAIT_MS));
    const id = reply.aggregateId;
    const value: PayloadValue = {
      __typename: payload,
      commandId: reply.commandId,
      aggregateId: id,
      streamVersion: reply.streamVersion ?? null,
      globalPosition: reply.globalPosition ?? null,
      errors: [],
    };
    // The object as it is now: one batched read, cheap next to the command's round trip.
    if (!caughtUp) return value;
    if (entity === 'site') value.site = ((row) => (row ? toSite(row) : null))(await ctx.loaders.site.load(id));
    if (entity === 'cluster') value.cluster = ((row) => (row ? toCluster(row) : null))(await ctx.loaders.cluster.load(id));
    if (entity === 'node') value.node = ((row) => (row ? toNode(row) : null))(await ctx.loaders.node.load(id));
    if (entity === 'device') value.device = ((row) => (row ? toDevice(row) : null))(await ctx.loaders.device.load(id));
    return value;
  }

  @Mutation(() => CreateSitePayload) createSite(@Args('input') input: CreateSiteInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateSite', 'CreateSitePayload', 'site', input);
  }
  @Mutation(() => RenameSitePayload) renameSite(@Args('input') input: RenameSiteInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RenameSite', 'RenameSitePayload', 'site', input);
  }
  @Mutation(() => DeleteSitePayload) deleteSite(@Args('input') input: DeleteSiteInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'DeleteSite', 'DeleteSitePayload', null, input);
  }
  @Mutation(() => CreateClusterPayload) createCluster(@Args('input') input: CreateClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateCluster', 'CreateClusterPayload', 'cluster', input);
  }
  @Mutation(() => RenameClusterPayload) renameCluster(@Args('input') input: RenameClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RenameCluster', 'RenameClusterPayload', 'cluster', input);
  }
  @Mutation(() => DeleteClusterPayload) deleteCluster(@Args('input') input: DeleteClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'DeleteCluster', 'DeleteClusterPayload', null, input);
  }
  @Mutation(() => RegisterNodePayload) registerNode(@Args('input') input: RegisterNodeInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RegisterNode', 'RegisterNodePayload', 'node', input);
  }
  @Mutation(() => AddNodeToClusterPayload) addNodeToCluster(@Args('input') input: NodeClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'AddNodeToCluster', 'AddNodeToClusterPayload', 'node', input);
  }
  @Mutation(() => RemoveNodeFromClusterPayload) removeNodeFromCluster(@Args('input') input: NodeClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RemoveNodeFromCluster', 'RemoveNodeFromClusterPayload', 'node', input);
  }
  @Mutation(() => EnterMaintenancePayload) enterMaintenance(@Args('input') input: EnterMaintenanceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'EnterNodeMaintenance', 'EnterMaintenancePayload', 'node', input);
  }
  @Mutation(() => ExitMaintenancePayload) exitMaintenance(@Args('input') input: ExitMaintenanceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'ExitNodeMaintenance', 'ExitMaintenancePayload', 'node', input);
  }
  @Mutation(() => CreateDevicePayload) createDevice(@Args('input') input: CreateDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateDevice', 'CreateDevicePayload', 'device', input);
  }
  @Mutation(() => CreateHaDevicePayload, { description: 'A HA device: 2 or 3 replicas on distinct nodes, mirrored synchronously, one LU identity.' })
  createHaDevice(@Args('input') input: CreateHaDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateHaDevice', 'CreateHaDevicePayload', 'device', input);
  }
  @Mutation(() => ResolveSplitBrainPayload, { description: "After a split-brain: keep the survivor's data and resynchronize the other replicas from it." })
  resolveSplitBrain(@Args('input') input: ResolveSplitBrainInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'ResolveSplitBrain', 'ResolveSplitBrainPayload', 'device', input);
  }
  @Mutation(() => ResizeDevicePayload) resizeDevice(@Args('input') input: ResizeDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'ResizeDevice', 'ResizeDevicePayload', 'device', input);
  }
  @Mutation(() => DeleteDevicePayload) deleteDevice(@Args('input') input: DeleteDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'DeleteDevice', 'DeleteDevicePayload', null, input);
  }
}
