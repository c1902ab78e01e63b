import { notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

export const exitNodeMaintenanceHandler = defineHandler('ExitNodeMaintenance', async (cmd, { guards }) => {
  const node = await guards.node(cmd.nodeId);
  if (!node) throw notFound('node', cmd.nodeId);
  if (!node.inMaintenance) return { kind: 'unchanged', aggregateId: node.nodeId };
  return {
    kind: 'append',
    aggregateId: node.nodeId,
    streamId: streamIdOf('node', node.nodeId),
    expectedVersion: node.version,
    events: [{ type: 'NodeMaintenanceExited', data: { nodeId: node.nodeId } }],
    enforce: async (tx) => {
      await tx.query(`UPDATE ${tx.table('guard_nodes')} SET in_maintenance = false, version = $2 WHERE node_id = $1`, [node.nodeId, tx.streamVersion]);
    },
  };
});
