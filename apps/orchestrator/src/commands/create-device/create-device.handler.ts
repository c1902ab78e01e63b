import { randomUUID } from 'crypto';
import { badInput, conflict, notFound } from '../commandRefused';
import { defineHandler, streamIdOf, type Decision, type GuardTransaction } from '../commandHandler';
import { ensureReplicaFits } from '../placementRules';
import type { TandemEventData } from '@tandem/contracts';

/**
 * A device in a cluster, placed on one node of that cluster that is not in maintenance and has room. HA devices
 * (2–3 replicas) are created with CreateHaDevice.
 */
export const createDeviceHandler = defineHandler('CreateDevice', async (cmd, { guards }) => {
  if (cmd.replicas.length !== 1) throw badInput('replicas', 'a plain device has exactly one replica; create HA devices (2 or 3 replicas) with createHaDevice');
  if (!(await guards.cluster(cmd.clusterId))) throw notFound('cluster', cmd.clusterId);
  const deviceId = cmd.deviceId ?? randomUUID();
  if (await guards.device(deviceId)) throw conflict(`device ${deviceId} already exists`);
  for (const replica of cmd.replicas) await ensureReplicaFits(guards, replica.nodeId, cmd.clusterId, cmd.sizeBytes, { newPlacement: true });
  const { name, clusterId, sizeBytes, sectorSize, storeKind, cacheMode, replicas } = cmd;
  return placeDevice({ deviceId, clusterId, name, sizeBytes, sectorSize, storeKind, cacheMode, replicas });
});

/** Appends DeviceCreated and, in its transaction, records the device and its replicas in the guards (nodes re-checked under lock). */
export function placeDevice(data: TandemEventData<'DeviceCreated'>): Decision {
  const { deviceId, clusterId, name, sizeBytes, sectorSize, replicas } = data;
  return {
    kind: 'append',
    aggregateId: deviceId,
    streamId: streamIdOf('device', deviceId),
    expectedVersion: 'no-stream',
    events: [{ type: 'DeviceCreated', data }],
    enforce: async (tx: GuardTransaction) => {
      await tx.query(`INSERT INTO ${tx.table('guard_devices')} (device_id, cluster_id, name, size_bytes, sector_size, version) VALUES ($1, $2, $3, $4, $5, $6)`, [
        deviceId,
        clusterId,
        name,
        sizeBytes,
        sectorSize,
        tx.streamVersion,
      ]);
      // Node rows locked in id order (no deadlock between two devices sharing nodes), re-checked under the lock.
      for (const { nodeId } of [...replicas].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))) {
        await ensureReplicaFits(tx.guards, nodeId, clusterId, sizeBytes, { lock: 'FOR UPDATE', newPlacement: true });
        await tx.query(`INSERT INTO ${tx.table('guard_replicas')} (device_id, node_id) VALUES ($1, $2)`, [deviceId, nodeId]);
      }
    },
  };
}
