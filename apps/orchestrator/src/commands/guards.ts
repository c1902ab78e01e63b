/**
 * The command guards (tables `guard_*`): the write side's own, always-current view of what exists, written in the
 * same transaction as each append. Handlers read them to decide; constraints and row locks on them settle races.
 */
import type { QueryRunner } from 'typeorm';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';

export interface GuardSite {
  siteId: string;
  name: string;
  version: number;
}
export interface GuardCluster {
  clusterId: string;
  siteId: string;
  name: string;
  version: number;
}
export interface GuardNode {
  nodeId: string;
  name: string;
  softwareVersion: string;
  build: string;
  capacityBytes: number;
  clusterId: string | null;
  inMaintenance: boolean;
  version: number;
}
export interface GuardDevice {
  deviceId: string;
  clusterId: string;
  name: string;
  sizeBytes: number;
  sectorSize: number;
  version: number;
  nodeIds: string[];
}

type Query = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

const num = (v: unknown): number => Number(v);

export class GuardReader {
  constructor(
    private readonly query: Query,
    private readonly table: (name: string) => string,
  ) {}

  static of(db: OrchestratorDatabase, runner?: QueryRunner): GuardReader {
    const target = runner ?? db.dataSource;
    return new GuardReader((sql, params) => target.query(sql, params), db.table);
  }

  /** `lock`: `FOR UPDATE` / `FOR NO KEY UPDATE` / `FOR SHARE` inside a command transaction. */
  async site(siteId: string, lock = ''): Promise<GuardSite | undefined> {
    const [row] = await this.query(`SELECT site_id, name, version FROM ${this.table('guard_sites')} WHERE site_id = $1 ${lock}`, [siteId]);
    return row && { siteId: String(row.site_id), name: String(row.name), version: num(row.version) };
  }

  async cluster(clusterId: string, lock = ''): Promise<GuardCluster | undefined> {
    const [row] = await this.query(`SELECT cluster_id, site_id, name, version FROM ${this.table('guard_clusters')} WHERE cluster_id = $1 ${lock}`, [clusterId]);
    return row && { clusterId: String(row.cluster_id), siteId: String(row.site_id), name: String(row.name), version: num(row.version) };
  }

  async node(nodeId: string, lock = ''): Promise<GuardNode | undefined> {
    const [row] = await this.query(`SELECT * FROM ${this.table('guard_nodes')} WHERE node_id = $1 ${lock}`, [nodeId]);
    return row && toNode(row);
  }

  /** The other members of a cluster (their version and build must match a newcomer's). */
  async clusterMembers(clusterId: string, exceptNodeId?: string): Promise<GuardNode[]> {
    const rows = await this.query(`SELECT * FROM ${this.table('guard_nodes')} WHERE cluster_id = $1 AND node_id <> $2 ORDER BY node_id`, [
      clusterId,
      exceptNodeId ?? '00000000-0000-0000-0000-000000000000',
    ]);
    return rows.map(toNode);
  }

  async device(deviceId: string): Promise<GuardDevice | undefined> {
    const [row] = await this.query(
      `SELECT d.*, COALESCE(array_agg(r.node_id ORDER BY r.node_id) FILTER (WHERE r.node_id IS NOT NULL), '{}') AS node_ids
         FROM ${this.table('guard_devices')} d LEFT JOIN ${this.table('guard_replicas')} r ON r.device_id = d.device_id
        WHERE d.device_id = $1 GROUP BY d.device_id`,
      [deviceId],
    );
    return (
      row && {
        deviceId: String(row.device_id),
        clusterId: String(row.cluster_id),
        name: String(row.name),
        sizeBytes: num(row.size_bytes),
        sectorSize: num(row.sector_size),
        version: num(row.version),
        nodeIds: parseUuidArray(row.node_ids),
      }
    );
  }

  /** Bytes the node's replicas take, leaving out one device (the one being resized). */
  async allocatedBytes(nodeId: string, exceptDeviceId?: string): Promise<number> {
    const [row] = await this.query(
      `SELECT COALESCE(sum(d.size_bytes), 0) AS allocated FROM ${this.table('guard_replicas')} r JOIN ${this.table('guard_devices')} d ON d.device_id = r.device_id
        WHERE r.node_id = $1 AND r.device_id <> $2`,
      [nodeId, exceptDeviceId ?? '00000000-0000-0000-0000-000000000000'],
    );
    return num(row.allocated);
  }

  async replicaCount(nodeId: string): Promise<number> {
    const [row] = await this.query(`SELECT count(*) AS n FROM ${this.table('guard_replicas')} WHERE node_id = $1`, [nodeId]);
    return num(row.n);
  }
}

function toNode(row: Record<string, unknown>): GuardNode {
  return {
    nodeId: String(row.node_id),
    name: String(row.name),
    softwareVersion: String(row.software_version),
    build: String(row.build),
    capacityBytes: num(row.capacity_bytes),
    clusterId: row.cluster_id === null ? null : String(row.cluster_id),
    inMaintenance: row.in_maintenance === true,
    version: num(row.version),
  };
}

/** pg returns uuid[] as a JS array, PGlite over the wire may hand back the `{a,b}` literal. */
function parseUuidArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  const text = String(value ?? '{}');
  return text === '{}' ? [] : text.slice(1, -1).split(',');
}
