import { randomUUID } from 'crypto';
import { readStream, type EventStore } from '@tandem/event-store';
import type { TandemEventData } from '@tandem/contracts';
import { badInput, conflict, notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';
import { placeDevice } from '../create-device/create-device.handler';
import { ensureReplicaFits } from '../placementRules';

type Registration = TandemEventData<'NodeRegistered'>;

/** The node's facts as it last registered them (portals, sync and heartbeat links). */
async function lastRegistration(store: EventStore, nodeId: string): Promise<Registration | undefined> {
  const { events } = await readStream(store, streamIdOf('node', nodeId), { direction: 'backward', maxCount: 1000 });
  return events.find((e) => e.type === 'NodeRegistered')?.data as Registration | undefined;
}

/**
 * A HA device: 2 or 3 replicas on distinct nodes of one cluster, mirrored synchronously. The wiring is fixed here
 * and recorded in DeviceCreated (so replay and the agents always see the same): each replica's sync and heartbeat
 * endpoints (the node's registered ones unless the administrator gave others), its target port group (the node's
 * portal group tag; replicas need distinct ones so that initiators can tell the nodes' paths apart), and the
 * generation the replicas start from.
 */
export const createHaDeviceHandler = defineHandler('CreateHaDevice', async (cmd, { guards, store }) => {
  if (cmd.initialSync === 'SYNC_FROM' && cmd.replicas.length > 2) {
    // Two empty targets would find each other "the same" and could serve before the source's copy reached them.
    throw badInput('initialSync', 'SYNC_FROM is supported for two replicas; create the device with two replicas, or use CLEAR_BOTH / NONE');
  }
  if (!(await guards.cluster(cmd.clusterId))) throw notFound('cluster', cmd.clusterId);
  const deviceId = cmd.deviceId ?? randomUUID();
  if (await guards.device(deviceId)) throw conflict(`device ${deviceId} already exists`);
  const byPortGroup = new Map<number, string>();
  const replicas: TandemEventData<'DeviceCreated'>['replicas'] = [];
  for (const [i, r] of cmd.replicas.entries()) {
    const node = await ensureReplicaFits(guards, r.nodeId, cmd.clusterId, cmd.sizeBytes, { newPlacement: true });
    const registered = await lastRegistration(store, r.nodeId);
    if (!registered) throw notFound('node registration', r.nodeId);
    const syncAddresses = r.syncAddresses ?? registered.syncAddresses;
    if (syncAddresses.length === 0) {
      throw badInput(`replicas.${i}.syncAddresses`, `node ${node.name} registered no sync links: give syncAddresses, or add a "replication" section (sync links) to the node's config`);
    }
    const portGroup = registered.portals[0]?.portalGroupTag ?? 1;
    const other = byPortGroup.get(portGroup);
    if (other) {
      throw conflict(
        `nodes ${other} and ${node.name} both present their paths as target port group ${portGroup}; give each node of a HA device its own portal group tag (portals[].portalGroupTag in the node's config)`,
      );
    }
    byPortGroup.set(portGroup, node.name);
    replicas.push({ nodeId: r.nodeId, priority: r.priority, syncAddresses, heartbeatAddresses: r.heartbeatAddresses ?? registered.heartbeatAddresses, portGroup, paths: r.paths, ...(r.storeKind ? { storeKind: r.storeKind } : {}) });
  }
  const { name, clusterId, sizeBytes, sectorSize, storeKind, cacheMode, strategy, witness, initialSync, syncFromNodeId } = cmd;
  const ha = { strategy, witness, initialSync, ...(syncFromNodeId ? { syncFromNodeId } : {}), initialGeneration: randomUUID() };
  return placeDevice({ deviceId, clusterId, name, sizeBytes, sectorSize, storeKind, cacheMode, replicas, ha });
});
