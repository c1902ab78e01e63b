/**
 * The orchestrator's own tables, beside (not inside) the event store's: read models fed by the projector, and the
 * command guards that the command handlers write in the same transaction as their append.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '../sql';

export function createReadModelsMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class CreateReadModels1762000000000 implements MigrationInterface {
    readonly name = 'CreateReadModels1762000000000';

    async up(q: QueryRunner): Promise<void> {
      // Read models: what queries see. Rebuilt from the log at will (`rebuildReadModels`).
      await q.query(`
        CREATE TABLE ${s}.sites (
          site_id          uuid PRIMARY KEY,
          name             text NOT NULL,
          description      text,
          version          integer NOT NULL,
          created_position bigint NOT NULL,
          updated_position bigint NOT NULL,
          created_at       timestamptz NOT NULL
        )`);
      await q.query(`
        CREATE TABLE ${s}.clusters (
          cluster_id       uuid PRIMARY KEY,
          site_id          uuid NOT NULL,
          name             text NOT NULL,
          ha_strategy      text NOT NULL,
          witness          jsonb,
          version          integer NOT NULL,
          created_position bigint NOT NULL,
          updated_position bigint NOT NULL,
          created_at       timestamptz NOT NULL
        )`);
      await q.query(`CREATE INDEX clusters_site_id_idx ON ${s}.clusters (site_id)`);
      await q.query(`
        CREATE TABLE ${s}.nodes (
          node_id             uuid PRIMARY KEY,
          name                text NOT NULL,
          software_version    text NOT NULL,
          build               text NOT NULL,
          portals             jsonb NOT NULL,
          sync_addresses      jsonb NOT NULL,
          heartbeat_addresses jsonb NOT NULL,
          capacity_bytes      bigint NOT NULL,
          allocated_bytes     bigint NOT NULL,
          cluster_id          uuid,
          in_maintenance      boolean NOT NULL,
          maintenance_reason  text,
          version             integer NOT NULL,
          created_position    bigint NOT NULL,
          updated_position    bigint NOT NULL,
          created_at          timestamptz NOT NULL
        )`);
      await q.query(`CREATE INDEX nodes_cluster_id_idx ON ${s}.nodes (cluster_id)`);
      await q.query(`
        CREATE TABLE ${s}.devices (
          device_id        uuid PRIMARY KEY,
          cluster_id       uuid NOT NULL,
          name             text NOT NULL,
          size_bytes       bigint NOT NULL,
          sector_size      integer NOT NULL,
          store_kind       text NOT NULL,
          cache_mode       text NOT NULL,
          replicas         jsonb NOT NULL,
          version          integer NOT NULL,
          created_position bigint NOT NULL,
          updated_position bigint NOT NULL,
          created_at       timestamptz NOT NULL
        )`);
      await q.query(`CREATE INDEX devices_cluster_id_idx ON ${s}.devices (cluster_id)`);

      // Command guards: the write side's view, updated in the append's transaction, so rules that span
      // aggregates (unique names, membership, capacity) hold under concurrency through constraints and row locks.
      await q.query(`
        CREATE TABLE ${s}.guard_sites (
          site_id uuid PRIMARY KEY,
          name    text NOT NULL,
          version integer NOT NULL
        )`);
      await q.query(`CREATE UNIQUE INDEX guard_sites_name_key ON ${s}.guard_sites (lower(name))`);
      await q.query(`
        CREATE TABLE ${s}.guard_clusters (
          cluster_id uuid PRIMARY KEY,
          site_id    uuid NOT NULL CONSTRAINT guard_clusters_site_fk REFERENCES ${s}.guard_sites (site_id) ON DELETE RESTRICT,
          name       text NOT NULL,
          version    integer NOT NULL
        )`);
      await q.query(`CREATE UNIQUE INDEX guard_clusters_name_key ON ${s}.guard_clusters (site_id, lower(name))`);
      await q.query(`
        CREATE TABLE ${s}.guard_nodes (
          node_id          uuid PRIMARY KEY,
          name             text NOT NULL,
          software_version text NOT NULL,
          build            text NOT NULL,
          capacity_bytes   bigint NOT NULL,
          cluster_id       uuid CONSTRAINT guard_nodes_cluster_fk REFERENCES ${s}.guard_clusters (cluster_id) ON DELETE RESTRICT,
          in_maintenance   boolean NOT NULL DEFAULT false,
          version          integer NOT NULL
        )`);
      await q.query(`CREATE UNIQUE INDEX guard_nodes_name_key ON ${s}.guard_nodes (lower(name))`);
      await q.query(`CREATE INDEX guard_nodes_cluster_idx ON ${s}.guard_nodes (cluster_id)`);
      await q.query(`
        CREATE TABLE ${s}.guard_devices (
          device_id   uuid PRIMARY KEY,
          cluster_id  uuid NOT NULL CONSTRAINT guard_devices_cluster_fk REFERENCES ${s}.guard_clusters (cluster_id) ON DELETE RESTRICT,
          name        text NOT NULL,
          size_bytes  bigint NOT NULL,
          sector_size integer NOT NULL,
          version     integer NOT NULL
        )`);
      await q.query(`CREATE UNIQUE INDEX guard_devices_name_key ON ${s}.guard_devices (cluster_id, lower(name))`);
      await q.query(`
        CREATE TABLE ${s}.guard_replicas (
          device_id uuid NOT NULL CONSTRAINT guard_replicas_device_fk REFERENCES ${s}.guard_devices (device_id) ON DELETE CASCADE,
          node_id   uuid NOT NULL CONSTRAINT guard_replicas_node_fk REFERENCES ${s}.guard_nodes (node_id) ON DELETE RESTRICT,
          PRIMARY KEY (device_id, node_id)
        )`);
      await q.query(`CREATE INDEX guard_replicas_node_idx ON ${s}.guard_replicas (node_id)`);
    }

    async down(q: QueryRunner): Promise<void> {
      for (const table of ['guard_replicas', 'guard_devices', 'guard_nodes', 'guard_clusters', 'guard_sites', 'devices', 'nodes', 'clusters', 'sites']) {
        await q.query(`DROP TABLE ${s}.${table}`);
      }
    }
  };
}
