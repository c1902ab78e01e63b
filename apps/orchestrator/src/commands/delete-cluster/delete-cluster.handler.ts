import { notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/** Only a cluster without nodes and devices can go (the guards' foreign keys refuse it otherwise). */
export const deleteClusterHandler = defineHandler('DeleteCluster', async (cmd, { guards }) => {
  const cluster = await guards.cluster(cmd.clusterId);
  if (!cluster) throw notFound('cluster', cmd.clusterId);
  return {
    kind: 'append',
    aggregateId: cluster.clusterId,
    streamId: streamIdOf('cluster', cluster.clusterId),
    expectedVersion: cluster.version,
    events: [{ type: 'ClusterDeleted', data: { clusterId: cluster.clusterId } }],
    enforce: async (tx) => {
      await tx.query(`DELETE FROM ${tx.table('guard_clusters')} WHERE cluster_id = $1`, [cluster.clusterId]);
    },
  };
});
