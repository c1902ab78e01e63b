/** A node's health for the views: UNREACHABLE from liveness, else the agent's own word plus the active alerts about it. */
import type { AlertRow, NodeRow } from '../database/entities/readModel.entities';

export type NodeHealthState = 'OK' | 'DEGRADED' | 'FAILING' | 'UNREACHABLE';

/** Alert kinds that make the node they name (or the node a link starts from) degraded. */
const NODE_KINDS = new Set(['CapacityLow', 'ShutdownTooLong', 'SyncLinkDown', 'SyncLatencyHigh']);

export function alertConcernsNode(alert: Pick<AlertRow, 'kind' | 'subjectKind' | 'subjectId'>, nodeId: string): boolean {
  if (!NODE_KINDS.has(alert.kind)) return false;
  return alert.subjectKind === 'node' ? alert.subjectId === nodeId : alert.subjectKind === 'link' && alert.subjectId.startsWith(`${nodeId}_`);
}

export function nodeHealth(node: Pick<NodeRow, 'nodeId' | 'reachable' | 'reachabilityChangedAt' | 'health' | 'healthReason'>, activeAlerts: readonly AlertRow[]): { state: NodeHealthState | null; reasons: string[] } {
  if (!node.reachable) {
    const since = node.reachabilityChangedAt ? ` since ${new Date(node.reachabilityChangedAt).toISOString()}` : '';
    return { state: 'UNREACHABLE', reasons: [`the control plane has not heard it${since}; its partners may still see it`] };
  }
  const reasons = node.health && node.health !== 'ok' && node.healthReason ? [node.healthReason] : [];
  for (const a of activeAlerts) if (a.active && alertConcernsNode(a, node.nodeId)) reasons.push(a.message);
  if (node.health === 'failing') return { state: 'FAILING', reasons };
  if (reasons.length > 0 || node.health === 'degraded') return { state: 'DEGRADED', reasons };
  return { state: node.health === null ? null : 'OK', reasons };
}
