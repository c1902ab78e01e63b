/** Lookups by id and nested fields of the fleet (through DataLoaders), and `device(id, atPosition)` time travel. */
import { Inject } from '@nestjs/common';
import { Args, Context, ID, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { DeviceHealth } from '@tandem/orchestrator';
import type { GatewayContext } from '../context';
import { gatewayError } from '../errors';
import { SafeIntScalar } from '../scalars/scalars';
import { deviceHealthOf, nodeHealthOf } from './derivedHealth';
import { DeviceState, NodeHealth, ReplicaExport, ReplicaState } from './fleet.enums';
import { Cluster, Device, Replica, Site, StorageNode, toCluster, toDevice, toNode, toReplica, toSite } from './fleet.models';
import { assertUuid } from './fleet.queries';
import { DeviceHealthView, toDeviceHealthView } from './health.models';
import { FleetReader } from './fleetReader';
import { SyncLinkView, syncLinksOf } from './syncLinks';
import { ReplicaCacheView, replicaCacheOf } from './replicaCache';

@Resolver(() => Site)
export class SiteResolver {
  @Query(() => Site, { nullable: true })
  async site(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Site | null> {
    assertUuid(id, 'id');
    const row = await ctx.loaders.site.load(id);
    return row ? toSite(row) : null;
  }

  @ResolveField(() => [Cluster])
  async clusters(@Parent() site: Site, @Context() ctx: GatewayContext): Promise<Cluster[]> {
    if (site.asOf) return site.asOf.clusters.filter((c) => c.siteId === site.id).map((c) => toCluster(c, site.asOf));
    return (await ctx.loaders.clustersOfSite.load(site.id)).map((row) => toCluster(row));
  }
}

@Resolver(() => Cluster)
export class ClusterResolver {
  @Query(() => Cluster, { nullable: true })
  async cluster(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Cluster | null> {
    assertUuid(id, 'id');
    const row = await ctx.loaders.cluster.load(id);
    return row ? toCluster(row) : null;
  }

  @ResolveField(() => Site, { nullable: true })
  async site(@Parent() cluster: Cluster, @Context() ctx: GatewayContext): Promise<Site | null> {
    const row = cluster.asOf ? cluster.asOf.sites.find((s) => s.siteId === cluster.siteId) : await ctx.loaders.site.load(cluster.siteId);
    return row ? toSite(row, cluster.asOf) : null;
  }

  @ResolveField(() => [StorageNode])
  async nodes(@Parent() cluster: Cluster, @Context() ctx: GatewayContext): Promise<StorageNode[]> {
    if (cluster.asOf) return cluster.asOf.nodes.filter((n) => n.clusterId === cluster.id).map((n) => toNode(n, cluster.asOf));
    return (await ctx.loaders.nodesOfCluster.load(cluster.id)).map((row) => toNode(row));
  }

  @ResolveField(() => [Device])
  async devices(@Parent() cluster: Cluster, @Context() ctx: GatewayContext): Promise<Device[]> {
    if (cluster.asOf) return cluster.asOf.devices.filter((d) => d.clusterId === cluster.id).map((d) => toDevice(d, cluster.asOf));
    return (await ctx.loaders.devicesOfCluster.load(cluster.id)).map((row) => toDevice(row));
  }
}

@Resolver(() => StorageNode)
export class NodeResolver {
  @Query(() => StorageNode, { nullable: true })
  async storageNode(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<StorageNode | null> {
    assertUuid(id, 'id');
    const row = await ctx.loaders.node.load(id);
    return row ? toNode(row) : null;
  }

  @ResolveField(() => Cluster, { nullable: true })
  async cluster(@Parent() node: StorageNode, @Context() ctx: GatewayContext): Promise<Cluster | null> {
    if (!node.clusterId) return null;
    const row = node.asOf ? node.asOf.clusters.find((c) => c.clusterId === node.clusterId) : await ctx.loaders.cluster.load(node.clusterId);
    return row ? toCluster(row, node.asOf) : null;
  }

  @ResolveField(() => NodeHealth, { nullable: true, description: 'UNREACHABLE from liveness, else its agent\'s word and the active alerts about it; null before its first report.' })
  async health(@Parent() node: StorageNode, @Context() ctx: GatewayContext): Promise<NodeHealth | null> {
    return (await this.healthOf(node, ctx)).state as NodeHealth | null;
  }

  @ResolveField(() => [String], { description: 'Why it is not OK: unreachable, disk nearly full, sync links down or slow, cache flush estimate too long.' })
  async healthReasons(@Parent() node: StorageNode, @Context() ctx: GatewayContext): Promise<string[]> {
    return (await this.healthOf(node, ctx)).reasons;
  }

  @ResolveField(() => Date, { nullable: true, description: 'When the orchestrator last heard its telemetry (not time-travelled: an observation, not an event).' })
  async lastSeenAt(@Parent() node: StorageNode, @Context() ctx: GatewayContext): Promise<Date | null> {
    return node.asOf ? null : ctx.loaders.lastSeen.load(node.id);
  }

  @ResolveField(() => [SyncLinkView], { description: "Its sync links to each partner, from its last telemetry (not time-travelled: empty with atPosition)." })
  async syncLinks(@Parent() node: StorageNode, @Context() ctx: GatewayContext): Promise<SyncLinkView[]> {
    return node.asOf ? [] : syncLinksOf(await ctx.loaders.telemetry.load(node.id));
  }

  private async healthOf(node: StorageNode, ctx: GatewayContext) {
    const alerts = node.asOf ? node.asOf.alerts.filter((a) => a.active) : await ctx.loaders.activeAlerts();
    return nodeHealthOf({ nodeId: node.id, reachable: node.reachable, reachabilityChangedAt: node.reachabilityChangedAt, health: node.healthRow, healthReason: node.healthReason }, alerts);
  }

  @ResolveField(() => [Device], { description: 'Devices with a replica on this node.' })
  async devices(@Parent() node: StorageNode, @Context() ctx: GatewayContext): Promise<Device[]> {
    if (node.asOf) return node.asOf.devices.filter((d) => d.replicas.some((r) => r.nodeId === node.id)).map((d) => toDevice(d, node.asOf));
    return (await ctx.loaders.devicesOfNode.load(node.id)).map((row) => toDevice(row));
  }
}

@Resolver(() => Device)
export class DeviceResolver {
  constructor(@Inject(FleetReader) private readonly fleet: FleetReader) {}

  @Query(() => Device, {
    nullable: true,
    description: 'A device now, or as it was right after the event at `atPosition` (time travel: the log replayed up to there).',
  })
  async device(
    @Args('id', { type: () => ID }) id: string,
    @Context() ctx: GatewayContext,
    @Args('atPosition', { type: () => SafeIntScalar, nullable: true }) atPosition?: number,
  ): Promise<Device | null> {
    assertUuid(id, 'id');
    if (atPosition === undefined || atPosition === null) {
      const row = await ctx.loaders.device.load(id);
      return row ? toDevice(row) : null;
    }
    if (atPosition < 0) throw gatewayError('BAD_USER_INPUT', 'atPosition: must be ≥ 0');
    const snapshot = await this.fleet.stateAt(atPosition);
    const row = snapshot.devices.find((d) => d.deviceId === id);
    return row ? toDevice(row, snapshot) : null;
  }

  @ResolveField(() => Cluster, { nullable: true })
  async cluster(@Parent() device: Device, @Context() ctx: GatewayContext): Promise<Cluster | null> {
    const row = device.asOf ? device.asOf.clusters.find((c) => c.clusterId === device.clusterId) : await ctx.loaders.cluster.load(device.clusterId);
    return row ? toCluster(row, device.asOf) : null;
  }

  @ResolveField(() => [Replica])
  replicas(@Parent() device: Device): Replica[] {
    return device.replicaRows.map((r) => toReplica(r, device.asOf, device.id));
  }

  @ResolveField(() => DeviceState)
  async state(@Parent() device: Device, @Context() ctx: GatewayContext): Promise<DeviceState> {
    return (await this.healthOf(device, ctx)).state as DeviceState;
  }

  @ResolveField(() => Int, { description: 'Replicas synchronized and serving.' })
  async synchronizedCopies(@Parent() device: Device, @Context() ctx: GatewayContext): Promise<number> {
    return (await this.healthOf(device, ctx)).synchronizedCopies;
  }

  @ResolveField(() => Int)
  replicaCount(@Parent() device: Device): number {
    return device.replicaRows.length;
  }

  @ResolveField(() => DeviceHealthView, { description: 'Why the device is in its state: each replica, resyncs, blocked reasons, split-brain evidence.' })
  async health(@Parent() device: Device, @Context() ctx: GatewayContext): Promise<DeviceHealthView> {
    return toDeviceHealthView(await this.healthOf(device, ctx));
  }

  private healthOf(device: Device, ctx: GatewayContext): Promise<DeviceHealth> {
    return deviceHealthOf(device.replicaRows, ctx, device.asOf?.nodes);
  }
}

@Resolver(() => Replica)
export class ReplicaResolver {
  @ResolveField(() => StorageNode, { nullable: true })
  async node(@Parent() replica: Replica, @Context() ctx: GatewayContext): Promise<StorageNode | null> {
    const row = replica.asOf ? replica.asOf.nodes.find((n) => n.nodeId === replica.nodeId) : await ctx.loaders.node.load(replica.nodeId);
    return row ? toNode(row, replica.asOf) : null;
  }

  @ResolveField(() => ReplicaState)
  async state(@Parent() replica: Replica, @Context() ctx: GatewayContext): Promise<ReplicaState> {
    const row = replica.asOf ? replica.asOf.nodes.find((n) => n.nodeId === replica.nodeId) : await ctx.loaders.node.load(replica.nodeId);
    return row && !row.inMaintenance ? ReplicaState.ACTIVE : ReplicaState.MAINTENANCE;
  }

  @ResolveField(() => ReplicaCacheView, { nullable: true, description: "Its RAM cache (dirty bytes, time to write them out; zero without a RAM cache) from its node's last telemetry; null before the node reported the device, and with atPosition (an observation, not an event)." })
  async cache(@Parent() replica: Replica, @Context() ctx: GatewayContext): Promise<ReplicaCacheView | null> {
    if (replica.asOf || !replica.deviceId) return null;
    return replicaCacheOf(await ctx.loaders.telemetry.load(replica.nodeId), replica.deviceId);
  }

  @ResolveField(() => String, { nullable: true, description: 'iscsi://portal/target/lun on the node\'s first portal, once exported.' })
  async iscsiUrl(@Parent() replica: Replica, @Context() ctx: GatewayContext): Promise<string | null> {
    if (replica.export !== ReplicaExport.EXPORTED || replica.targetName === null || replica.lun === null) return null;
    const row = replica.asOf ? replica.asOf.nodes.find((n) => n.nodeId === replica.nodeId) : await ctx.loaders.node.load(replica.nodeId);
    const portal = row?.portals[0];
    if (!portal) return null;
    const host = portal.host.includes(':') ? `[${portal.host}]` : portal.host;
    return `iscsi://${host}:${portal.port}/${replica.targetName}/${replica.lun}`;
  }
}
