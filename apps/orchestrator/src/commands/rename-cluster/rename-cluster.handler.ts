import { notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

export const renameClusterHandler = defineHandler('RenameCluster', async (cmd, { guards }) => {
  const cluster = await guards.cluster(cmd.clusterId);
  if (!cluster) throw notFound('cluster', cmd.clusterId);
  if (cluster.name === cmd.name) return { kind: 'unchanged', aggregateId: cluster.clusterId };
  return {
    kind: 'append',
    aggregateId: cluster.clusterId,
    streamId: streamIdOf('cluster', cluster.clusterId),
    expectedVersion: cluster.version,
    events: [{ type: 'ClusterRenamed', data: { clusterId: cluster.clusterId, name: cmd.name, previousName: cluster.name } }],
    enforce: async (tx) => {
      await tx.query(`UPDATE ${tx.table('guard_clusters')} SET name = $2, version = $3 WHERE cluster_id = $1`, [cluster.clusterId, cmd.name, tx.streamVersion]);
    },
  };
});
