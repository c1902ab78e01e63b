import { notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

export const deleteDeviceHandler = defineHandler('DeleteDevice', async (cmd, { guards }) => {
  const device = await guards.device(cmd.deviceId);
  if (!device) throw notFound('device', cmd.deviceId);
  return {
    kind: 'append',
    aggregateId: device.deviceId,
    streamId: streamIdOf('device', device.deviceId),
    expectedVersion: device.version,
    events: [{ type: 'DeviceDeleted', data: { deviceId: device.deviceId } }],
    enforce: async (tx) => {
      await tx.query(`DELETE FROM ${tx.table('guard_devices')} WHERE device_id = $1`, [device.deviceId]);
    },
  };
});
