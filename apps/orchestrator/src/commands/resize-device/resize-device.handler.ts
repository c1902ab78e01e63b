import { badInput, notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';
import type { GuardReader } from '../guards';
import { ensureReplicaFits } from '../placementRules';

/** Grow only (shrinking a disk under a file system destroys data), in whole sectors, within every replica node's room. */
export const resizeDeviceHandler = defineHandler('ResizeDevice', async (cmd, { guards }) => {
  const device = await guards.device(cmd.deviceId);
  if (!device) throw notFound('device', cmd.deviceId);
  if (cmd.sizeBytes === device.sizeBytes) return { kind: 'unchanged', aggregateId: device.deviceId };
  if (cmd.sizeBytes < device.sizeBytes) throw badInput('sizeBytes', `devices only grow: ${cmd.sizeBytes} is smaller than the current ${device.sizeBytes}`);
  if (cmd.sizeBytes % device.sectorSize !== 0) throw badInput('sizeBytes', `must be a multiple of the sector size (${device.sectorSize})`);
  const fits = async (reader: GuardReader, lock?: string) => {
    for (const nodeId of device.nodeIds) await ensureReplicaFits(reader, nodeId, device.clusterId, cmd.sizeBytes, { exceptDeviceId: device.deviceId, lock });
  };
  await fits(guards);
  return {
    kind: 'append',
    aggregateId: device.deviceId,
    streamId: streamIdOf('device', device.deviceId),
    expectedVersion: device.version,
    events: [{ type: 'DeviceResized', data: { deviceId: device.deviceId, sizeBytes: cmd.sizeBytes, previousSizeBytes: device.sizeBytes } }],
    enforce: async (tx) => {
      await fits(tx.guards, 'FOR UPDATE');
      await tx.query(`UPDATE ${tx.table('guard_devices')} SET size_bytes = $2, version = $3 WHERE device_id = $1`, [device.deviceId, cmd.sizeBytes, tx.streamVersion]);
    },
  };
});
