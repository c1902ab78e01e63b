/**
 * The fleet's top-level lists as Relay connections with filters. Plain filters page in SQL (keyset on (name, id));
 * filters on derived health (node health, device state) derive over every row the plain filters keep, in memory,
 * then page: a fleet's size (thousands of nodes, tens of thousands of devices) allows it and pages stay exact.
 */
import { Inject } from '@nestjs/common';
import { Args, Context, ID, Int, Query, Resolver } from '@nestjs/graphql';
import type { ClusterRow, DeviceRow, NodeRow, SiteRow } from '@tandem/orchestrator';
import type { GatewayContext } from '../context';
import { gatewayError } from '../errors';
import { assertFirst, compareNameKey, connectionOf, decodeCursor, pageInMemory, type Connection, type SortKey } from '../relay/connection';
import { deviceHealthOf, nodeHealthOf } from './derivedHealth';
import { DeviceState, NodeHealth } from './fleet.enums';
import { ClusterConnection, DEFAULT_FLEET_PAGE, DeviceConnection, MAX_FLEET_PAGE, SiteConnection, StorageNodeConnection } from './fleet.connections';
import { Cluster, Device, Site, StorageNode, toCluster, toDevice, toNode, toSite } from './fleet.models';
import { FleetReader, type FleetList } from './fleetReader';

export const assertUuid = (id: string, what: string) => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw gatewayError('BAD_USER_INPUT', `${what}: must be a UUID`);
};

const FIRST = { type: () => Int, defaultValue: DEFAULT_FLEET_PAGE, description: `At most ${MAX_FLEET_PAGE}.` } as const;
const AFTER = { type: () => String, nullable: true, description: 'A cursor (`pageInfo.endCursor`); the page starts after it.' } as const;

const nameKey = <R extends { name: string }>(id: (row: R) => string) => (row: R): SortKey => [row.name, id(row)];

@Resolver()
export class FleetQueries {
  constructor(@Inject(FleetReader) private readonly fleet: FleetReader) {}

  @Query(() => SiteConnection, { description: 'Sites, by name.' })
  sites(@Args('first', FIRST) first: number, @Args('after', AFTER) after?: string | null): Promise<Connection<Site>> {
    return this.sqlPage<SiteRow, Site>('sites', 'Site', {}, first, after, (r) => r.siteId, (r) => toSite(r));
  }

  @Query(() => ClusterConnection, { description: 'Clusters, by name; only those of `siteId` when given.' })
  clusters(@Args('first', FIRST) first: number, @Args('after', AFTER) after?: string | null, @Args('siteId', { type: () => ID, nullable: true }) siteId?: string | null): Promise<Connection<Cluster>> {
    if (siteId) assertUuid(siteId, 'siteId');
    return this.sqlPage<ClusterRow, Cluster>('clusters', 'Cluster', { siteId: siteId ?? undefined }, first, after, (r) => r.clusterId, (r) => toCluster(r));
  }

  @Query(() => StorageNodeConnection, { description: 'Registered storage nodes, by name; only those of `clusterId`, and of one of the `health` states, when given.' })
  async storageNodes(
    @Context() ctx: GatewayContext,
    @Args('first', FIRST) first: number,
    @Args('after', AFTER) after?: string | null,
    @Args('clusterId', { type: () => ID, nullable: true }) clusterId?: string | null,
    @Args('health', { type: () => [NodeHealth], nullable: true, description: 'Any of these (derived: liveness, agent report, active alerts).' }) health?: NodeHealth[] | null,
  ): Promise<Connection<StorageNode>> {
    if (clusterId) assertUuid(clusterId, 'clusterId');
    const filter = { clusterId: clusterId ?? undefined };
    if (!health || health.length === 0) return this.sqlPage<NodeRow, StorageNode>('nodes', 'StorageNode', filter, first, after, (r) => r.nodeId, (r) => toNode(r));
    return this.derivedPage<NodeRow, StorageNode>('nodes', 'StorageNode', filter, first, after, (r) => r.nodeId, (r) => toNode(r), async (rows) => {
      const alerts = await ctx.loaders.activeAlerts();
      return rows.map((row) => {
        const derived = nodeHealthOf(row, alerts).state;
        return derived !== null && health.includes(derived);
      });
    });
  }

  @Query(() => DeviceConnection, { description: 'Devices, by name; only those of `clusterId`, and in one of the `state`s, when given.' })
  async devices(
    @Context() ctx: GatewayContext,
    @Args('first', FIRST) first: number,
    @Args('after', AFTER) after?: string | null,
    @Args('clusterId', { type: () => ID, nullable: true }) clusterId?: string | null,
    @Args('state', { type: () => [DeviceState], nullable: true, description: 'Any of these (derived from every replica and node).' }) state?: DeviceState[] | null,
  ): Promise<Connection<Device>> {
    if (clusterId) assertUuid(clusterId, 'clusterId');
    const filter = { clusterId: clusterId ?? undefined };
    if (!state || state.length === 0) return this.sqlPage<DeviceRow, Device>('devices', 'Device', filter, first, after, (r) => r.deviceId, (r) => toDevice(r));
    return this.derivedPage<DeviceRow, Device>('devices', 'Device', filter, first, after, (r) => r.deviceId, (r) => toDevice(r), async (rows) => {
      // Prime the node loader once for every replica's node: one query, not one per device.
      await ctx.loaders.node.loadMany([...new Set(rows.flatMap((d) => d.replicas.map((r) => r.nodeId)))]);
      return Promise.all(rows.map(async (row) => state.includes((await deviceHealthOf(row.replicas, ctx)).state as DeviceState)));
    });
  }

  /** Every row the plain filters keep, those `keep` says yes to (derived health), then one page of them. */
  private async derivedPage<R extends { name: string }, T>(
    list: FleetList,
    kind: string,
    filter: Record<string, string | undefined>,
    first: number,
    after: string | null | undefined,
    idOf: (row: R) => string,
    toNode: (row: R) => T,
    keep: (rows: R[]) => Promise<boolean[]>,
  ): Promise<Connection<T>> {
    assertFirst(first, MAX_FLEET_PAGE);
    const cursor = after ? decodeCursor(kind, after, ['string', 'string']) : undefined;
    const rows = await this.fleet.all<R>(list, filter);
    const kept = await keep(rows);
    return pageInMemory(kind, rows.filter((_, i) => kept[i]), { first, after: cursor, keyOf: nameKey(idOf), compare: compareNameKey, toNode });
  }

  private async sqlPage<R extends { name: string }, T>(
    list: FleetList,
    kind: string,
    filter: Record<string, string | undefined>,
    first: number,
    after: string | null | undefined,
    idOf: (row: R) => string,
    toNode: (row: R) => T,
  ): Promise<Connection<T>> {
    assertFirst(first, MAX_FLEET_PAGE);
    const cursor = after ? decodeCursor(kind, after, ['string', 'string']) : undefined;
    const page = this.fleet.page<R>(list, filter, first, cursor);
    return connectionOf(kind, await page.rows, first, nameKey(idOf), toNode, page.count);
  }
}
