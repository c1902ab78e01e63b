import { notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/** Maintenance keeps new replicas off the node; entering it twice changes nothing. */
export const enterNodeMaintenanceHandler = defineHandler('EnterNodeMaintenance', async (cmd, { guards }) => {
  const node = await guards.node(cmd.nodeId);
  if (!node) throw notFound('node', cmd.nodeId);
  if (node.inMaintenance) return { kind: 'unchanged', aggregateId: node.nodeId };
  return {
    kind: 'append',
    aggregateId: node.nodeId,
    streamId: streamIdOf('node', node.nodeId),
    expectedVersion: node.version,
    events: [{ type: 'NodeMaintenanceEntered', data: { nodeId: node.nodeId, ...(cmd.reason !== undefined ? { reason: cmd.reason } : {}) } }],
    enforce: async (tx) => {
      await tx.query(`UPDATE ${tx.table('guard_nodes')} SET in_maintenance = true, version = $2 WHERE node_id = $1`, [node.nodeId, tx.streamVersion]);
    },
  };
});
