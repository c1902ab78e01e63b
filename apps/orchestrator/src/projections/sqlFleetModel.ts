/** The fleet read model in its tables, written through one transaction's EntityManager (with a per-page cache). */
import type { EntityManager } from 'typeorm';
import { AlertEntity, ClusterEntity, DeviceEntity, NodeEntity, SiteEntity, type AlertRow, type ClusterRow, type DeviceRow, type NodeRow, type SiteRow } from '../database/entities/readModel.entities';
import type { FleetModel, FleetSnapshot } from './fleetProjection';
import { normaliseSnapshot } from './inMemoryFleetModel';

export class SqlFleetModel implements FleetModel {
  // Rows read or written in this transaction; `null` = known absent.
  private readonly cache = new Map<string, SiteRow | ClusterRow | NodeRow | DeviceRow | AlertRow | null>();

  constructor(private readonly manager: EntityManager) {}

  private async get<T extends object>(entity: new () => T, key: string, id: string): Promise<T | undefined> {
    const cacheKey = `${entity.name}:${id}`;
    if (this.cache.has(cacheKey)) return (this.cache.get(cacheKey) ?? undefined) as T | undefined;
    const row = await this.manager.findOneBy(entity, { [key]: id } as never);
    this.cache.set(cacheKey, (row as never) ?? null);
    return row ?? undefined;
  }

  private async put<T extends object>(entity: new () => T, key: string, row: T): Promise<void> {
    this.cache.set(`${entity.name}:${(row as Record<string, string>)[key]}`, row as never);
    await this.manager.upsert(entity, row as never, [key]);
  }

  private async remove<T extends object>(entity: new () => T, key: string, id: string): Promise<void> {
    this.cache.set(`${entity.name}:${id}`, null);
    await this.manager.delete(entity, { [key]: id } as never);
  }

  getSite = (id: string) => this.get(SiteEntity, 'siteId', id);
  putSite = (row: SiteRow) => this.put(SiteEntity, 'siteId', row);
  deleteSite = (id: string) => this.remove(SiteEntity, 'siteId', id);
  getCluster = (id: string) => this.get(ClusterEntity, 'clusterId', id);
  putCluster = (row: ClusterRow) => this.put(ClusterEntity, 'clusterId', row);
  deleteCluster = (id: string) => this.remove(ClusterEntity, 'clusterId', id);
  getNode = (id: string) => this.get(NodeEntity, 'nodeId', id);
  putNode = (row: NodeRow) => this.put(NodeEntity, 'nodeId', row);
  getDevice = (id: string) => this.get(DeviceEntity, 'deviceId', id);
  putDevice = (row: DeviceRow) => this.put(DeviceEntity, 'deviceId', row);
  deleteDevice = (id: string) => this.remove(DeviceEntity, 'deviceId', id);
  getAlert = (id: string) => this.get(AlertEntity, 'alertId', id);
  putAlert = (row: AlertRow) => this.put(AlertEntity, 'alertId', row);
}

/** Every read-model row, as the tables hold them now. */
export async function readFleetSnapshot(manager: EntityManager): Promise<FleetSnapshot> {
  const [sites, clusters, nodes, devices, alerts] = await Promise.all([
    manager.find(SiteEntity),
    manager.find(ClusterEntity),
    manager.find(NodeEntity),
    manager.find(DeviceEntity),
    manager.find(AlertEntity),
  ]);
  return normaliseSnapshot({ sites, clusters, nodes, devices, alerts });
}
