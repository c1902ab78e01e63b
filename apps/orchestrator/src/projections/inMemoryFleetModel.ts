/** The fleet read model in memory: time travel (`stateAt`) and fast rebuilds replay the log into it. */
import type { AlertRow, ClusterRow, DeviceRow, NodeRow, SiteRow } from '../database/entities/readModel.entities';
import type { FleetModel, FleetSnapshot } from './fleetProjection';

export class InMemoryFleetModel implements FleetModel {
  readonly sites = new Map<string, SiteRow>();
  readonly clusters = new Map<string, ClusterRow>();
  readonly nodes = new Map<string, NodeRow>();
  readonly devices = new Map<string, DeviceRow>();
  readonly alerts = new Map<string, AlertRow>();

  async getSite(id: string) {
    return this.sites.get(id);
  }
  async putSite(row: SiteRow) {
    this.sites.set(row.siteId, row);
  }
  async deleteSite(id: string) {
    this.sites.delete(id);
  }
  async getCluster(id: string) {
    return this.clusters.get(id);
  }
  async putCluster(row: ClusterRow) {
    this.clusters.set(row.clusterId, row);
  }
  async deleteCluster(id: string) {
    this.clusters.delete(id);
  }
  async getNode(id: string) {
    return this.nodes.get(id);
  }
  async putNode(row: NodeRow) {
    this.nodes.set(row.nodeId, row);
  }
  async getDevice(id: string) {
    return this.devices.get(id);
  }
  async putDevice(row: DeviceRow) {
    this.devices.set(row.deviceId, row);
  }
  async deleteDevice(id: string) {
    this.devices.delete(id);
  }
  async getAlert(id: string) {
    return this.alerts.get(id);
  }
  async putAlert(row: AlertRow) {
    this.alerts.set(row.alertId, row);
  }

  snapshot(): FleetSnapshot {
    return normaliseSnapshot({
      sites: [...this.sites.values()],
      clusters: [...this.clusters.values()],
      nodes: [...this.nodes.values()],
      devices: [...this.devices.values()],
      alerts: [...this.alerts.values()],
    });
  }
}

/** Plain objects ordered by id, so snapshots from tables and from memory compare with `toEqual`. */
export function normaliseSnapshot(snapshot: FleetSnapshot): FleetSnapshot {
  const byId = <T>(key: keyof T) => (a: T, b: T) => (String(a[key]) < String(b[key]) ? -1 : String(a[key]) > String(b[key]) ? 1 : 0);
  return {
    sites: snapshot.sites.map((r) => ({ ...r })).sort(byId<SiteRow>('siteId')),
    clusters: snapshot.clusters.map((r) => ({ ...r })).sort(byId<ClusterRow>('clusterId')),
    nodes: snapshot.nodes.map((r) => ({ ...r })).sort(byId<NodeRow>('nodeId')),
    devices: snapshot.devices.map((r) => ({ ...r })).sort(byId<DeviceRow>('deviceId')),
    alerts: snapshot.alerts.map((r) => ({ ...r })).sort(byId<AlertRow>('alertId')),
  };
}
