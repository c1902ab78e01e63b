import { conflict, notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';
import { ensureSameSoftware } from '../placementRules';

/** A node joins one cluster at a time, and only with the version and build the cluster already runs. */
export const addNodeToClusterHandler = defineHandler('AddNodeToCluster', async (cmd, { guards }) => {
  const node = await guards.node(cmd.nodeId);
  if (!node) throw notFound('node', cmd.nodeId);
  if (!(await guards.cluster(cmd.clusterId))) throw notFound('cluster', cmd.clusterId);
  if (node.clusterId === cmd.clusterId) return { kind: 'unchanged', aggregateId: node.nodeId };
  if (node.clusterId) throw conflict(`node ${node.name} (${node.nodeId}) is already in cluster ${node.clusterId}; remove it from there first`);
  ensureSameSoftware(node, await guards.clusterMembers(cmd.clusterId, node.nodeId), cmd.clusterId);
  return {
    kind: 'append',
    aggregateId: node.nodeId,
    streamId: streamIdOf('node', node.nodeId),
    expectedVersion: node.version,
    events: [{ type: 'NodeAddedToCluster', data: { nodeId: node.nodeId, clusterId: cmd.clusterId } }],
    enforce: async (tx) => {
      // Joins of one cluster take turns on its row, so two nodes of different versions cannot both get in.
      if (!(await tx.guards.cluster(cmd.clusterId, 'FOR NO KEY UPDATE'))) throw notFound('cluster', cmd.clusterId);
      ensureSameSoftware(node, await tx.guards.clusterMembers(cmd.clusterId, node.nodeId), cmd.clusterId);
      await tx.query(`UPDATE ${tx.table('guard_nodes')} SET cluster_id = $2, version = $3 WHERE node_id = $1`, [node.nodeId, cmd.clusterId, tx.streamVersion]);
    },
  };
});
