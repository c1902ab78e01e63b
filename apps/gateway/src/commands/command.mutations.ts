/**
 * One mutation per orchestrator command. Each is checked against the contracts, sent over NATS request/reply, and
 * answered once the read models include its events (bounded wait), so a query right after sees the change.
 * The bearer token is checked before execution (see limits/operationGuard.plugin.ts): nothing is sent without it.
 */
import { Inject } from '@nestjs/common';
import { Args, Context, Field, ID, Int, Mutation, ObjectType, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { TandemCommandType } from '@tandem/contracts';
import type { GatewayContext } from '../context';
import { unauthenticated } from '../errors';
import { Cluster, Device, Node, Site, toCluster, toDevice, toNode, toSite } from '../fleet/fleet.models';
import { FleetReader } from '../fleet/fleetReader';
import { SafeIntScalar } from '../scalars/scalars';
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
import { CommandSender } from './commandSender';

@ObjectType({ description: 'The orchestrator accepted the command; the aggregate as it is now (null once deleted).' })
export class CommandResult {
  @Field(() => ID) commandId!: string;
  @Field(() => ID, { description: 'Id of the site, cluster, node or device the command created or changed.' }) aggregateId!: string;
  @Field(() => Int, { nullable: true, description: 'Stream version after the command; null when nothing had to change.' }) streamVersion?: number;
  @Field(() => SafeIntScalar, { nullable: true, description: 'Global position of the last event written.' }) globalPosition?: number;
  aggregate!: 'site' | 'cluster' | 'node' | 'device';
}

@Resolver(() => CommandResult)
export class CommandMutations {
  constructor(
    @Inject(CommandSender) private readonly sender: CommandSender,
    @Inject(FleetReader) private readonly fleet: FleetReader,
  ) {}

  private async run(ctx: GatewayContext, type: TandemCommandType, aggregate: CommandResult['aggregate'], input: unknown): Promise<CommandResult> {
    // The operation guard already refused unauthenticated mutations; this keeps a resolver safe on its own.
    if (!ctx.authenticated) throw unauthenticated();
    const reply = await this.sender.send(type, toPayload(input), ctx.actor);
    if (reply.globalPosition !== undefined) await this.fleet.waitForProjection(reply.globalPosition);
    return { ...reply, aggregate };
  }

  @Mutation(() => CommandResult) createSite(@Args('input') input: CreateSiteInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateSite', 'site', input);
  }
  @Mutation(() => CommandResult) renameSite(@Args('input') input: RenameSiteInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RenameSite', 'site', input);
  }
  @Mutation(() => CommandResult) deleteSite(@Args('input') input: DeleteSiteInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'DeleteSite', 'site', input);
  }
  @Mutation(() => CommandResult) createCluster(@Args('input') input: CreateClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateCluster', 'cluster', input);
  }
  @Mutation(() => CommandResult) renameCluster(@Args('input') input: RenameClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RenameCluster', 'cluster', input);
  }
  @Mutation(() => CommandResult) deleteCluster(@Args('input') input: DeleteClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'DeleteCluster', 'cluster', input);
  }
  @Mutation(() => CommandResult) registerNode(@Args('input') input: RegisterNodeInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RegisterNode', 'node', input);
  }
  @Mutation(() => CommandResult) addNodeToCluster(@Args('input') input: NodeClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'AddNodeToCluster', 'node', input);
  }
  @Mutation(() => CommandResult) removeNodeFromCluster(@Args('input') input: NodeClusterInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'RemoveNodeFromCluster', 'node', input);
  }
  @Mutation(() => CommandResult) enterMaintenance(@Args('input') input: EnterMaintenanceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'EnterNodeMaintenance', 'node', input);
  }
  @Mutation(() => CommandResult) exitMaintenance(@Args('input') input: ExitMaintenanceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'ExitNodeMaintenance', 'node', input);
  }
  @Mutation(() => CommandResult) createDevice(@Args('input') input: CreateDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateDevice', 'device', input);
  }
  @Mutation(() => CommandResult, { description: 'A HA device: 2 or 3 replicas on distinct nodes, mirrored synchronously, one LU identity.' })
  createHaDevice(@Args('input') input: CreateHaDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'CreateHaDevice', 'device', input);
  }
  @Mutation(() => CommandResult, { description: 'After a split-brain: keep the survivor\'s data and resynchronize the other replicas from it.' })
  resolveSplitBrain(@Args('input') input: ResolveSplitBrainInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'ResolveSplitBrain', 'device', input);
  }
  @Mutation(() => CommandResult) resizeDevice(@Args('input') input: ResizeDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'ResizeDevice', 'device', input);
  }
  @Mutation(() => CommandResult) deleteDevice(@Args('input') input: DeleteDeviceInput, @Context() ctx: GatewayContext) {
    return this.run(ctx, 'DeleteDevice', 'device', input);
  }

  @ResolveField(() => Site, { nullable: true })
  async site(@Parent() result: CommandResult, @Context() ctx: GatewayContext): Promise<Site | null> {
    const row = result.aggregate === 'site' ? await ctx.loaders.site.load(result.aggregateId) : undefined;
    return row ? toSite(row) : null;
  }
  @ResolveField(() => Cluster, { nullable: true })
  async cluster(@Parent() result: CommandResult, @Context() ctx: GatewayContext): Promise<Cluster | null> {
    const row = result.aggregate === 'cluster' ? await ctx.loaders.cluster.load(result.aggregateId) : undefined;
    return row ? toCluster(row) : null;
  }
  @ResolveField(() => Node, { nullable: true })
  async node(@Parent() result: CommandResult, @Context() ctx: GatewayContext): Promise<Node | null> {
    const row = result.aggregate === 'node' ? await ctx.loaders.node.load(result.aggregateId) : undefined;
    return row ? toNode(row) : null;
  }
  @ResolveField(() => Device, { nullable: true })
  async device(@Parent() result: CommandResult, @Context() ctx: GatewayContext): Promise<Device | null> {
    const row = result.aggregate === 'device' ? await ctx.loaders.device.load(result.aggregateId) : undefined;
    return row ? toDevice(row) : null;
  }
}
