import { conflict, notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/** A node leaves its cluster only once it holds no device replica (move or delete them first). */
export const removeNodeFromClusterHandler = defineHandler('RemoveNodeFromCluster', async (cmd, { guards }) => {
  const node = await guards.node(cmd.nodeId);
  if (!node) throw notFound('node', cmd.nodeId);
  if (node.clusterId !== cmd.clusterId) throw conflict(`node ${node.name} (${node.nodeId}) is not a member of cluster ${cmd.clusterId}`);
  const replicasHeld = async (count: number) => {
    if (count > 0) throw conflict(`node ${node.name} (${node.nodeId}) still holds ${count} device replica(s)`);
  };
  await replicasHeld(await guards.replicaCount(node.nodeId));
  return {
    kind: 'append',
    aggregateId: node.nodeId,
    streamId: streamIdOf('node', node.nodeId),
    expectedVersion: node.version,
    events: [{ type: 'NodeRemovedFromCluster', data: { nodeId: node.nodeId, clusterId: cmd.clusterId } }],
    enforce: async (tx) => {
      // The row lock taken by this UPDATE orders us with CreateDevice's, so the count below sees its replica.
      await tx.query(`UPDATE ${tx.table('guard_nodes')} SET cluster_id = NULL, version = $2 WHERE node_id = $1`, [node.nodeId, tx.streamVersion]);
      await replicasHeld(await tx.guards.replicaCount(node.nodeId));
    },
  };
});
