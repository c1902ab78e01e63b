import { readStream } from '@tandem/event-store';
import { badInput, conflict, notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/**
 * The administrator's choice after a split-brain: the survivor's data is kept and copied to the other replicas.
 * Recorded on the device; the agents carry it out (the survivor resyncs the others) and report
 * SplitBrainResolved, or refuse (ReplicaCommandFailed) when their replica is not in split-brain with the survivor.
 */
export const resolveSplitBrainHandler = defineHandler('ResolveSplitBrain', async (cmd, { guards, store }) => {
  const device = await guards.device(cmd.deviceId);
  if (!device) throw notFound('device', cmd.deviceId);
  const { events } = await readStream(store, streamIdOf('device', device.deviceId), { maxCount: 1 });
  const created = events.find((e) => e.type === 'DeviceCreated');
  if (!created || !(created.data as { ha?: unknown }).ha) throw conflict(`device ${device.name} is not a HA device; it has one replica and cannot split`);
  if (!device.nodeIds.includes(cmd.survivorNodeId)) throw badInput('survivorNodeId', `node ${cmd.survivorNodeId} holds no replica of device ${device.name}`);
  return {
    kind: 'append',
    aggregateId: device.deviceId,
    streamId: streamIdOf('device', device.deviceId),
    expectedVersion: device.version,
    events: [{ type: 'SplitBrainResolutionRequested', data: { deviceId: device.deviceId, survivorNodeId: cmd.survivorNodeId } }],
    enforce: async (tx) => {
      await tx.query(`UPDATE ${tx.table('guard_devices')} SET version = $2 WHERE device_id = $1`, [device.deviceId, tx.streamVersion]);
    },
  };
});
