/**
 * What one node must serve for one device: the device's spec, and for a HA device this node's replica settings
 * and its partners' (from the wiring DeviceCreated fixed). One function for the dispatcher (from the event) and for
 * the desired-devices answer (from the read model), so both always tell a node the same.
 */
import type { AgentDevice, AgentHa, HaSpec } from '@tandem/contracts';

interface Address {
  host: string;
  port: number;
}

export interface DeviceSpecView {
  deviceId: string;
  name: string;
  sectorSize: number;
  storeKind: string;
  cacheMode: string;
  ha?: HaSpec | null;
  replicas: readonly {
    nodeId: string;
    priority: number;
    portGroup?: number;
    paths?: 'optimized' | 'non-optimized';
    storeKind?: string;
    syncAddresses?: readonly Address[];
    heartbeatAddresses?: readonly Address[];
  }[];
}

const plain = (addresses: readonly Address[] | undefined): Address[] => (addresses ?? []).map(({ host, port }) => ({ host, port }));

export function agentDeviceFor(spec: DeviceSpecView, sizeBytes: number, nodeId: string): AgentDevice {
  const self = spec.replicas.find((r) => r.nodeId === nodeId);
  const device: AgentDevice = {
    deviceId: spec.deviceId,
    name: spec.name,
    sizeBytes,
    sectorSize: spec.sectorSize as AgentDevice['sectorSize'],
    storeKind: (self?.storeKind ?? spec.storeKind) as AgentDevice['storeKind'],
    cacheMode: spec.cacheMode as AgentDevice['cacheMode'],
  };
  if (!spec.ha || !self) return device;
  const initialSync: AgentHa['initialSync'] = spec.ha.initialSync !== 'SYNC_FROM' ? 'peer' : spec.ha.syncFromNodeId === nodeId ? 'source' : 'target';
  const ha: AgentHa = {
    priority: self.priority,
    portGroup: self.portGroup ?? 1,
    paths: self.paths ?? 'optimized',
    strategy: spec.ha.strategy,
    witness: plain(spec.ha.witness),
    initialGeneration: spec.ha.initialGeneration,
    initialSync,
    partners: spec.replicas
      .filter((r) => r.nodeId !== nodeId)
      .map((r) => ({ nodeId: r.nodeId, priority: r.priority, sync: plain(r.syncAddresses), heartbeat: plain(r.heartbeatAddresses), portGroup: r.portGroup ?? 1 })),
  };
  return { ...device, ha };
}
