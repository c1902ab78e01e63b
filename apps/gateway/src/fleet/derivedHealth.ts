/** Node and device health derived from read-model rows, the same way for a field and for a list filter. */
import { deviceHealth, nodeHealth, type AlertRow, type DeviceHealth, type NodeRow, type ReplicaRow } from '@tandem/orchestrator';
import type { GatewayContext } from '../context';
import { NodeHealth } from './fleet.enums';

/** UNREACHABLE from liveness, else the agent's word and the active alerts about it; null before its first report. */
export function nodeHealthOf(node: Pick<NodeRow, 'nodeId' | 'reachable' | 'reachabilityChangedAt' | 'health' | 'healthReason'>, activeAlerts: readonly AlertRow[]): { state: NodeHealth | null; reasons: string[] } {
  const h = nodeHealth(node, activeAlerts);
  return { state: h.state as NodeHealth | null, reasons: h.reasons };
}

/** The device's health from its replicas and their nodes (`nodes` given for a time-travel snapshot, else loaded). */
export async function deviceHealthOf(replicas: ReplicaRow[], ctx: GatewayContext, snapshotNodes?: readonly NodeRow[]): Promise<DeviceHealth> {
  const ids = replicas.map((r) => r.nodeId);
  const rows = snapshotNodes ? ids.map((id) => snapshotNodes.find((n) => n.nodeId === id)) : await ctx.loaders.node.loadMany(ids);
  const nodes = new Map<string, NodeRow>();
  rows.forEach((row) => row && !(row instanceof Error) && nodes.set(row.nodeId, row));
  return deviceHealth({ replicas }, (id) => nodes.get(id));
}
