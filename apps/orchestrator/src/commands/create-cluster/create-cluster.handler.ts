import { randomUUID } from 'crypto';
import { conflict, notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/** A new cluster in an existing site; cluster names are unique within their site. */
export const createClusterHandler = defineHandler('CreateCluster', async (cmd, { guards }) => {
  if (!(await guards.site(cmd.siteId))) throw notFound('site', cmd.siteId);
  const clusterId = cmd.clusterId ?? randomUUID();
  if (await guards.cluster(clusterId)) throw conflict(`cluster ${clusterId} already exists`);
  return {
    kind: 'append',
    aggregateId: clusterId,
    streamId: streamIdOf('cluster', clusterId),
    expectedVersion: 'no-stream',
    events: [
      {
        type: 'ClusterCreated',
        data: { clusterId, siteId: cmd.siteId, name: cmd.name, haStrategy: cmd.haStrategy, ...(cmd.witness ? { witness: cmd.witness } : {}) },
      },
    ],
    enforce: async (tx) => {
      // The foreign key to the site refuses a site deleted meanwhile.
      await tx.query(`INSERT INTO ${tx.table('guard_clusters')} (cluster_id, site_id, name, version) VALUES ($1, $2, $3, $4)`, [clusterId, cmd.siteId, cmd.name, tx.streamVersion]);
    },
  };
});
