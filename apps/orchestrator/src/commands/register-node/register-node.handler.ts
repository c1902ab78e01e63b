import { jsonEqual, readStream } from '@tandem/event-store';
import { conflict } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';
import type { GuardReader } from '../guards';
import { ensureSameSoftware } from '../placementRules';

/**
 * A node agent reports itself. First time: a new node (unique name). Again with the same facts (a restart):
 * nothing to write. With new facts (upgrade, new portals, new disks): refused if it would leave its cluster with
 * mixed versions or its capacity below what its replicas already take.
 */
export const registerNodeHandler = defineHandler('RegisterNode', async (cmd, { guards, store }) => {
  const streamId = streamIdOf('node', cmd.nodeId);
  const event = { type: 'NodeRegistered' as const, data: cmd };
  const known = await guards.node(cmd.nodeId);
  if (!known) {
    return {
      kind: 'append',
      aggregateId: cmd.nodeId,
      streamId,
      expectedVersion: 'no-stream',
      events: [event],
      enforce: async (tx) => {
        await tx.query(
          `INSERT INTO ${tx.table('guard_nodes')} (node_id, name, software_version, build, capacity_bytes, version) VALUES ($1, $2, $3, $4, $5, $6)`,
          [cmd.nodeId, cmd.name, cmd.version, cmd.build, cmd.capacityBytes, tx.streamVersion],
        );
      },
    };
  }
  const { events } = await readStream(store, streamId, { direction: 'backward', maxCount: 1000 });
  const lastRegistration = events.find((e) => e.type === 'NodeRegistered');
  if (lastRegistration && jsonEqual(lastRegistration.data, cmd)) return { kind: 'unchanged', aggregateId: cmd.nodeId };
  const check = async (guards: GuardReader, lock: string) => {
    if (known.clusterId) {
      if (lock) await guards.cluster(known.clusterId, 'FOR NO KEY UPDATE');
      ensureSameSoftware({ name: cmd.name, softwareVersion: cmd.version, build: cmd.build }, await guards.clusterMembers(known.clusterId, cmd.nodeId), known.clusterId);
    }
    const allocated = await guards.allocatedBytes(cmd.nodeId);
    if (cmd.capacityBytes < allocated) throw conflict(`node ${cmd.name} would have ${cmd.capacityBytes} bytes but its replicas already take ${allocated}`);
  };
  await check(guards, '');
  return {
    kind: 'append',
    aggregateId: cmd.nodeId,
    streamId,
    expectedVersion: known.version,
    events: [event],
    enforce: async (tx) => {
      await tx.guards.node(cmd.nodeId, 'FOR UPDATE');
      await check(tx.guards, 'lock');
      await tx.query(`UPDATE ${tx.table('guard_nodes')} SET name = $2, software_version = $3, build = $4, capacity_bytes = $5, version = $6 WHERE node_id = $1`, [
        cmd.nodeId,
        cmd.name,
        cmd.version,
        cmd.build,
        cmd.capacityBytes,
        tx.streamVersion,
      ]);
    },
  };
});
