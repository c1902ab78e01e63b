/**
 * Reads the orchestrator's read-model tables through its own entities (one schema, one writer: the orchestrator),
 * with per-request DataLoaders so nested fields (cluster.nodes, node.devices, device.replicas) batch into one
 * query per level instead of one per parent.
 */
import DataLoader from 'dataloader';
import { readCheckpoint, type GlobalPosition } from '@tandem/event-store';
import {
  AlertEntity,
  ClusterEntity,
  DeviceEntity,
  NodeEntity,
  NodeLivenessEntity,
  READ_MODEL_SUBSCRIPTION,
  SiteEntity,
  stateAt,
  type AlertRow,
  type ClusterRow,
  type DeviceRow,
  type FleetSnapshot,
  type NodeRow,
  type OrchestratorDatabase,
  type SiteRow,
} from '@tandem/orchestrator';
import { In } from 'typeorm';
import type { SortKey } from '../relay/connection';

/** The top-level fleet lists: their entity, id column and the columns their filters compare. */
const LISTS = {
  sites: { entity: SiteEntity, id: 'site_id', columns: {} as Record<string, string> },
  clusters: { entity: ClusterEntity, id: 'cluster_id', columns: { siteId: 'site_id' } as Record<string, string> },
  nodes: { entity: NodeEntity, id: 'node_id', columns: { clusterId: 'cluster_id' } as Record<string, string> },
  devices: { entity: DeviceEntity, id: 'device_id', columns: { clusterId: 'cluster_id' } as Record<string, string> },
};
export type FleetList = keyof typeof LISTS;

export interface FleetLoaders {
  site: DataLoader<string, SiteRow | undefined>;
  cluster: DataLoader<string, ClusterRow | undefined>;
  node: DataLoader<string, NodeRow | undefined>;
  device: DataLoader<string, DeviceRow | undefined>;
  clustersOfSite: DataLoader<string, ClusterRow[]>;
  nodesOfCluster: DataLoader<string, NodeRow[]>;
  devicesOfCluster: DataLoader<string, DeviceRow[]>;
  /** Devices with a replica on the node. */
  devicesOfNode: DataLoader<string, DeviceRow[]>;
  /** When the orchestrator last heard the node (null: not since it started keeping track). */
  lastSeen: DataLoader<string, Date | null>;
  /** The node's last telemetry as the liveness monitor keeps it (null: none since it started keeping track). */
  telemetry: DataLoader<string, unknown>;
  /** Every active alert (one query per request, whatever asks). */
  activeAlerts: () => Promise<AlertRow[]>;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class FleetReader {
  constructor(readonly db: OrchestratorDatabase) {}

  private get manager() {
    return this.db.dataSource.manager;
  }

  /** Every row of a fleet list in (name, id) order, optionally of one site/cluster (for filters derived in memory). */
  all<R extends object>(list: FleetList, filter: Record<string, string | undefined> = {}): Promise<R[]> {
    return this.byName(list, filter).getMany() as Promise<R[]>;
  }

  /** One page of a fleet list: `first + 1` rows after the cursor's (name, id), and a lazy count of the filtered rows. */
  page<R extends object>(list: FleetList, filter: Record<string, string | undefined>, first: number, after?: SortKey): { rows: Promise<R[]>; count: () => Promise<number> } {
    const q = this.byName(list, filter);
    const count = () => this.byName(list, filter).getCount();
    if (after) q.andWhere(`(e.name COLLATE "C", e.${LISTS[list].id}) > (:afterName COLLATE "C", :afterId)`, { afterName: after[0], afterId: after[1] });
    return { rows: q.limit(first + 1).getMany() as Promise<R[]>, count };
  }

  private byName(list: FleetList, filter: Record<string, string | undefined>) {
    const { entity, id, columns } = LISTS[list];
    const q = this.manager.createQueryBuilder(entity, 'e');
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) q.andWhere(`e.${columns[key]} = :${key}`, { [key]: value });
    // Byte order ("C"), the order JS pages in memory with (relay/connection.ts compareText).
    return q.orderBy('e.name COLLATE "C"', 'ASC').addOrderBy(`e.${id}`, 'ASC');
  }

  /** Alerts, newest first, `first + 1` after the cursor's raised position. A `subject` node id also matches the links from that node. */
  alerts(filter: { active?: boolean; severity?: string[]; subject?: string }, first: number, afterPosition?: number): { rows: Promise<AlertRow[]>; count: () => Promise<number> } {
    const where = () => {
      const q = this.manager.createQueryBuilder(AlertEntity, 'a');
      if (filter.active !== undefined) q.andWhere('a.active = :active', { active: filter.active });
      if (filter.severity && filter.severity.length > 0) q.andWhere('a.severity IN (:...severity)', { severity: filter.severity });
      if (filter.subject) q.andWhere('(a.subject_id = :subject OR a.subject_id LIKE :links)', { subject: filter.subject, links: `${filter.subject}\\_%` });
      return q;
    };
    const q = where().orderBy('a.raised_position', 'DESC').limit(first + 1);
    if (afterPosition !== undefined) q.andWhere('a.raised_position < :afterPosition', { afterPosition });
    return { rows: q.getMany(), count: () => where().getCount() };
  }

  /** The whole fleet right after the event at `position` (the orchestrator's time travel: a replay into memory). */
  stateAt(position: GlobalPosition): Promise<FleetSnapshot> {
    return stateAt(this.db, position);
  }

  /** Position the read-model tables have reached. */
  projectedPosition(): Promise<GlobalPosition> {
    return readCheckpoint(this.db.store, READ_MODEL_SUBSCRIPTION);
  }

  /** Waits (bounded) until the read models include `position`, so a query right after a mutation sees its effect. */
  async waitForProjection(position: GlobalPosition, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      if ((await this.projectedPosition()) >= position) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** `cache: false` for long-lived contexts (subscriptions), where cached rows would go stale between events. */
  loaders(options: { cache?: boolean } = {}): FleetLoaders {
    const cache = options.cache ?? true;
    const m = this.manager;
    const byId = <R extends object, K extends keyof R>(entity: new () => R, key: K) =>
      new DataLoader<string, R | undefined>(
        async (ids) => {
          const rows: R[] = await m.find(entity, { where: { [key]: In([...ids]) } as never });
          const map = new Map(rows.map((row) => [row[key] as unknown as string, row]));
          return ids.map((id) => map.get(id));
        },
        { cache },
      );
    const groupedBy = <R extends { name: string }, K extends keyof R>(entity: new () => R, key: K) =>
      new DataLoader<string, R[]>(
        async (ids) => {
          const rows: R[] = (await m.find(entity, { where: { [key]: In([...ids]) } as never })).sort(byName);
          return ids.map((id) => rows.filter((row) => (row[key] as unknown as string) === id));
        },
        { cache },
      );
    let active: Promise<AlertRow[]> | undefined;
    return {
      lastSeen: new DataLoader<string, Date | null>(
        async (ids) => {
          const rows = await m.find(NodeLivenessEntity, { where: { nodeId: In([...ids]) }, select: { nodeId: true, lastSeenAt: true } });
          const map = new Map(rows.map((r) => [r.nodeId, r.lastSeenAt]));
          return ids.map((id) => map.get(id) ?? null);
        },
        { cache },
      ),
      telemetry: new DataLoader<string, unknown>(
        async (ids) => {
          const rows = await m.find(NodeLivenessEntity, { where: { nodeId: In([...ids]) }, select: { nodeId: true, telemetry: true } });
          const map = new Map(rows.map((r) => [r.nodeId, r.telemetry]));
          return ids.map((id) => map.get(id) ?? null);
        },
        { cache },
      ),
      activeAlerts: () => (cache && active ? active : (active = m.find(AlertEntity, { where: { active: true } }))),
      site: byId(SiteEntity, 'siteId'),
      cluster: byId(ClusterEntity, 'clusterId'),
      node: byId(NodeEntity, 'nodeId'),
      device: byId(DeviceEntity, 'deviceId'),
      clustersOfSite: groupedBy(ClusterEntity, 'siteId'),
      nodesOfCluster: groupedBy(NodeEntity, 'clusterId'),
      devicesOfCluster: groupedBy(DeviceEntity, 'clusterId'),
      devicesOfNode: new DataLoader<string, DeviceRow[]>(
        async (nodeIds) => {
          const rows = await m
            .createQueryBuilder(DeviceEntity, 'd')
            .where(`EXISTS (SELECT 1 FROM jsonb_array_elements(d.replicas) r WHERE r->>'nodeId' = ANY(:nodeIds))`, { nodeIds: [...nodeIds] })
            .getMany();
          rows.sort(byName);
          return nodeIds.map((id) => rows.filter((row) => row.replicas.some((replica) => replica.nodeId === id)));
        },
        { cache },
      ),
    };
  }
}
