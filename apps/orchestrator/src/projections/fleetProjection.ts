/**
 * The fleet projection: how each event changes the read-model rows. Written once against `FleetModel`, so the
 * live projector (SQL tables), `rebuildReadModels` and time travel (`stateAt`, in memory) all run this same code.
 */
import type { TandemEvent } from '@tandem/contracts';
import type { RecordedEvent } from '@tandem/event-store';
import type { AlertRow, ClusterRow, DeviceRow, NodeRow, PartnerView, ReplicaHaRow, ReplicaRow, SiteRow } from '../database/entities/readModel.entities';

export interface FleetModel {
  getSite(siteId: string): Promise<SiteRow | undefined>;
  putSite(row: SiteRow): Promise<void>;
  deleteSite(siteId: string): Promise<void>;
  getCluster(clusterId: string): Promise<ClusterRow | undefined>;
  putCluster(row: ClusterRow): Promise<void>;
  deleteCluster(clusterId: string): Promise<void>;
  getNode(nodeId: string): Promise<NodeRow | undefined>;
  putNode(row: NodeRow): Promise<void>;
  getDevice(deviceId: string): Promise<DeviceRow | undefined>;
  putDevice(row: DeviceRow): Promise<void>;
  deleteDevice(deviceId: string): Promise<void>;
  getAlert(alertId: string): Promise<AlertRow | undefined>;
  putAlert(row: AlertRow): Promise<void>;
}

/** Every row, ordered by id: what "identical read models" compares. */
export interface FleetSnapshot {
  sites: SiteRow[];
  clusters: ClusterRow[];
  nodes: NodeRow[];
  devices: DeviceRow[];
  alerts: AlertRow[];
}

/** Applies one event. Events of types this projection does not know are skipped (newer writers, other aggregates). */
export async function projectEvent(model: FleetModel, recorded: RecordedEvent): Promise<void> {
  const event = { type: recorded.type, data: recorded.data } as TandemEvent;
  const at = { version: recorded.streamVersion, updatedPosition: recorded.globalPosition };
  const created = { ...at, createdPosition: recorded.globalPosition, createdAt: recorded.recordedAt };
  switch (event.type) {
    case 'SiteCreated': {
      const { siteId, name, description } = event.data;
      return model.putSite({ siteId, name, description: description ?? null, ...created });
    }
    case 'SiteRenamed': {
      const site = await model.getSite(event.data.siteId);
      if (site) await model.putSite({ ...site, name: event.data.name, ...at });
      return;
    }
    case 'SiteDeleted':
      return model.deleteSite(event.data.siteId);
    case 'ClusterCreated': {
      const { clusterId, siteId, name, haStrategy, witness } = event.data;
      return model.putCluster({ clusterId, siteId, name, haStrategy, witness: witness ?? null, ...created });
    }
    case 'ClusterRenamed': {
      const cluster = await model.getCluster(event.data.clusterId);
      if (cluster) await model.putCluster({ ...cluster, name: event.data.name, ...at });
      return;
    }
    case 'ClusterDeleted':
      return model.deleteCluster(event.data.clusterId);
    case 'NodeRegistered': {
      const { nodeId, name, version, build, portals, syncAddresses, heartbeatAddresses, capacityBytes } = event.data;
      const facts = { name, softwareVersion: version, build, portals, syncAddresses, heartbeatAddresses, capacityBytes };
      const node = await model.getNode(nodeId);
      // Re-registration (restart, upgrade) refreshes the facts and keeps placement, maintenance and allocations.
      if (node) return model.putNode({ ...node, ...facts, ...at });
      return model.putNode({
        nodeId, ...facts, allocatedBytes: 0, clusterId: null, inMaintenance: false, maintenanceReason: null,
        health: null, healthReason: null, reachable: true, reachabilityChangedAt: null, ...created,
      });
    }
    case 'NodeAddedToCluster':
      return updateNode(model, event.data.nodeId, { clusterId: event.data.clusterId, ...at });
    case 'NodeRemovedFromCluster':
      return updateNode(model, event.data.nodeId, { clusterId: null, ...at });
    case 'NodeMaintenanceEntered':
      return updateNode(model, event.data.nodeId, { inMaintenance: true, maintenanceReason: event.data.reason ?? null, ...at });
    case 'NodeMaintenanceExited':
      return updateNode(model, event.data.nodeId, { inMaintenance: false, maintenanceReason: null, ...at });
    case 'DeviceCreated': {
      const { deviceId, clusterId, name, sizeBytes, sectorSize, storeKind, cacheMode } = event.data;
      const ha = event.data.ha ?? null;
      const replicas = event.data.replicas.map(
        ({ nodeId, priority, portGroup, paths, syncAddresses, heartbeatAddresses, storeKind: replicaStore }): ReplicaRow => ({
          nodeId,
          priority,
          state: 'pending',
          targetName: null,
          lun: null,
          lastError: null,
          ha: ha
            ? { portGroup: portGroup ?? 1, paths: paths ?? 'optimized', syncAddresses: syncAddresses ?? [], heartbeatAddresses: heartbeatAddresses ?? [], accessState: null, blockedReason: null, partners: {} }
            : null,
          ...(replicaStore ? { storeKind: replicaStore } : {}),
        }),
      );
      await model.putDevice({ deviceId, clusterId, name, sizeBytes, sectorSize, storeKind, cacheMode, replicas, ha, ...created });
      return allocate(model, replicas, sizeBytes);
    }
    case 'DeviceResized': {
      const device = await model.getDevice(event.data.deviceId);
      if (!device) return;
      await model.putDevice({ ...device, sizeBytes: event.data.sizeBytes, ...at });
      return allocate(model, device.replicas, event.data.sizeBytes - device.sizeBytes);
    }
    case 'DeviceDeleted': {
      const device = await model.getDevice(event.data.deviceId);
      if (!device) return;
      await model.deleteDevice(device.deviceId);
      return allocate(model, device.replicas, -device.sizeBytes);
    }
    // Facts from node agents (their own streams): the device's and node's versions stay those of their streams.
    case 'ReplicaExported': {
      const { targetName, lun } = event.data;
      return updateReplica(model, event.data, recorded.globalPosition, { state: 'exported', targetName, lun, lastError: null });
    }
    case 'ReplicaResized':
      return updateReplica(model, event.data, recorded.globalPosition, { lastError: null });
    case 'ReplicaWithdrawn':
      return updateReplica(model, event.data, recorded.globalPosition, { state: 'withdrawn', targetName: null, lun: null, lastError: null });
    case 'ReplicaCommandFailed':
      return updateReplica(model, event.data, recorded.globalPosition, { lastError: `${event.data.verb}: ${event.data.code}: ${event.data.message}` });
    // HA transitions a node reported for its replica.
    case 'PathStateChanged':
      return updateReplicaHa(model, event.data, recorded.globalPosition, () => ({ accessState: event.data.state }));
    case 'DeviceBlocked':
      return updateReplicaHa(model, event.data, recorded.globalPosition, () => ({ blockedReason: event.data.reason }));
    case 'DeviceUnblocked':
      return updateReplicaHa(model, event.data, recorded.globalPosition, () => ({ blockedReason: null }));
    case 'ReplicaSynchronized':
      return updatePartner(model, event.data, recorded.globalPosition, () => ({ state: 'synchronized', reason: null, resync: null }));
    case 'ReplicaNotSynchronized':
      return updatePartner(model, event.data, recorded.globalPosition, () => ({ state: 'not-synchronized', reason: event.data.reason, resync: null }));
    case 'ResyncStarted': {
      const { direction, kind, bytes } = event.data;
      // The node's own clock: rates from two reports of one node do not depend on when they reached the log.
      const startedAt = event.data.occurredAt;
      return updatePartner(model, event.data, recorded.globalPosition, () => ({
        state: direction === 'to-partner' ? 'resync-to' : 'resync-from',
        reason: null,
        resync: { kind, doneBytes: 0, totalBytes: bytes, startedAt, progressAt: startedAt },
      }));
    }
    case 'ResyncProgress':
      return updatePartner(model, event.data, recorded.globalPosition, (p) => ({
        resync: {
          kind: p.resync?.kind ?? 'fast',
          doneBytes: event.data.doneBytes,
          totalBytes: event.data.totalBytes,
          ...(p.resync?.startedAt ? { startedAt: p.resync.startedAt } : {}),
          progressAt: event.data.occurredAt,
        },
      }));
    case 'ResyncCompleted':
      return updatePartner(model, event.data, recorded.globalPosition, () => ({ state: 'synchronized', reason: null, resync: null }));
    case 'SplitBrainDetected':
      return updatePartner(model, event.data, recorded.globalPosition, () => ({ state: 'split-brain', reason: event.data.evidence, resync: null }));
    case 'SplitBrainResolved':
      return updatePartner(model, event.data, recorded.globalPosition, () => ({ state: 'not-synchronized', reason: `split-brain resolved: ${event.data.survivorNodeId} survives`, resync: null }));
    case 'NodeHealthChanged':
      return updateNode(model, event.data.nodeId, { health: event.data.health, healthReason: event.data.reason ?? null, updatedPosition: recorded.globalPosition });
    // What the orchestrator observed (its own streams): liveness and alerts.
    case 'NodeUnreachable':
      return updateNode(model, event.data.nodeId, { reachable: false, reachabilityChangedAt: recorded.recordedAt, updatedPosition: recorded.globalPosition });
    case 'NodeReachable':
      return updateNode(model, event.data.nodeId, { reachable: true, reachabilityChangedAt: recorded.recordedAt, updatedPosition: recorded.globalPosition });
    case 'AlertRaised': {
      const { alertId, kind, severity, subject, message, evidence, raisedAt } = event.data;
      return model.putAlert({
        alertId, kind, severity, subjectKind: subject.kind, subjectId: subject.id, subjectName: subject.name, message, evidence,
        raisedAt: new Date(raisedAt), raisedPosition: recorded.globalPosition, active: true, clearedAt: null, clearedMessage: null, clearedPosition: null,
      });
    }
    case 'AlertCleared': {
      const alert = await model.getAlert(event.data.alertId);
      if (!alert) return;
      return model.putAlert({ ...alert, active: false, clearedAt: new Date(event.data.clearedAt), clearedMessage: event.data.message, clearedPosition: recorded.globalPosition });
    }
    default:
      return;
  }
}

async function updateReplica(model: FleetModel, at: { deviceId: string; nodeId: string }, position: number, change: Partial<ReplicaRow>): Promise<void> {
  const device = await model.getDevice(at.deviceId);
  if (!device || !device.replicas.some((r) => r.nodeId === at.nodeId)) return;
  const replicas = device.replicas.map((r) => (r.nodeId === at.nodeId ? { ...r, ...change } : r));
  await model.putDevice({ ...device, replicas, updatedPosition: position });
}

async function updateReplicaHa(model: FleetModel, at: { deviceId: string; nodeId: string }, position: number, change: (ha: ReplicaHaRow) => Partial<ReplicaHaRow>): Promise<void> {
  const device = await model.getDevice(at.deviceId);
  const replica = device?.replicas.find((r) => r.nodeId === at.nodeId);
  if (!device || !replica?.ha) return;
  const ha = { ...replica.ha, ...change(replica.ha) };
  await model.putDevice({ ...device, replicas: device.replicas.map((r) => (r === replica ? { ...r, ha } : r)), updatedPosition: position });
}

async function updatePartner(model: FleetModel, at: { deviceId: string; nodeId: string; partnerNodeId: string }, position: number, change: (p: PartnerView) => Partial<PartnerView>): Promise<void> {
  return updateReplicaHa(model, at, position, (ha) => {
    const was: PartnerView = ha.partners[at.partnerNodeId] ?? { state: 'not-synchronized', reason: null, resync: null };
    return { partners: { ...ha.partners, [at.partnerNodeId]: { ...was, ...change(was) } } };
  });
}

async function updateNode(model: FleetModel, nodeId: string, change: Partial<NodeRow>): Promise<void> {
  const node = await model.getNode(nodeId);
  if (node) await model.putNode({ ...node, ...change });
}

/** Replicas take their device's full size on their node (FLAT stores are thick). */
async function allocate(model: FleetModel, replicas: readonly { nodeId: string }[], deltaBytes: number): Promise<void> {
  for (const { nodeId } of replicas) {
    const node = await model.getNode(nodeId);
    if (node) await model.putNode({ ...node, allocatedBytes: node.allocatedBytes + deltaBytes });
  }
}
