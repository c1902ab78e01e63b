/**
 * The device's event timeline: its own stream's events, its replicas' reports (from the nodes' `agent-<nodeId>`
 * streams, picked by `data.deviceId`) and the alerts about it, merged newest first, one line of text each.
 */
import type { DeviceAlertView, EventView } from './deviceQueries';
import { formatBytes } from '../ui/format';

export interface TimelineEntry {
  /** Global position of the event in the log: what `device(atPosition:)` replays up to. */
  position: number;
  type: string;
  recordedAt: string;
  text: string;
}

type NodeName = (nodeId: string) => string;

const record = (data: unknown): Record<string, unknown> => (data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {});
const bytes = (value: unknown): string => (typeof value === 'number' ? formatBytes(value) : '?');
const percent = (done: unknown, total: unknown): string =>
  typeof done === 'number' && typeof total === 'number' && total > 0 ? `${Math.floor((done * 100) / total)} %` : '?';

export const deviceStreamId = (deviceId: string): string => `device-${deviceId}`;
export const agentStreamId = (nodeId: string): string => `agent-${nodeId}`;

/** Whether an event of the log is about this device (its own stream, a replica report, an alert about it). */
export function isAboutDevice(event: Pick<EventView, 'streamId' | 'data'>, deviceId: string): boolean {
  if (event.streamId === deviceStreamId(deviceId)) return true;
  const data = record(event.data);
  if (data.deviceId === deviceId) return true;
  const subject = record(data.subject);
  return subject.kind === 'device' && subject.id === deviceId;
}

/** One line saying what the event did, in the operator's terms. */
export function describeEvent(event: Pick<EventView, 'type' | 'data'>, nodeName: NodeName): string {
  const d = record(event.data);
  const node = typeof d.nodeId === 'string' ? nodeName(d.nodeId) : undefined;
  const partner = typeof d.partnerNodeId === 'string' ? nodeName(d.partnerNodeId) : undefined;
  const on = node ? ` on ${node}` : '';
  switch (event.type) {
    case 'DeviceCreated': {
      const replicas = Array.isArray(d.replicas) ? d.replicas.length : 0;
      return `created ${d.name ?? ''}: ${bytes(d.sizeBytes)}, ${replicas} replica${replicas === 1 ? '' : 's'}${d.ha ? ' (HA)' : ''}`;
    }
    case 'DeviceResized':
      return `resized ${bytes(d.previousSizeBytes)} → ${bytes(d.sizeBytes)}`;
    case 'DeviceDeleted':
      return 'deleted';
    case 'SplitBrainResolutionRequested':
      return `split-brain resolution asked: ${typeof d.survivorNodeId === 'string' ? nodeName(d.survivorNodeId) : '?'} survives`;
    case 'ReplicaExported':
      return `replica exported${on} (LUN ${d.lun ?? '?'}, ${bytes(d.sizeBytes)})`;
    case 'ReplicaResized':
      return `replica resized${on} to ${bytes(d.sizeBytes)}`;
    case 'ReplicaWithdrawn':
      return `replica withdrawn${on}${d.dataDestroyed ? ', data destroyed' : ''}`;
    case 'ReplicaCommandFailed':
      return `${node ?? 'a node'} refused ${d.verb ?? 'a command'}: ${d.message ?? ''}`;
    case 'ReplicaSynchronized':
      return `${node ?? '?'} sees ${partner ?? '?'} synchronized`;
    case 'ReplicaNotSynchronized':
      return `${node ?? '?'} sees ${partner ?? '?'} not synchronized${d.reason ? `: ${d.reason}` : ''}`;
    case 'DeviceBlocked':
      return `I/O blocked${on}${d.reason ? `: ${d.reason}` : ''}`;
    case 'DeviceUnblocked':
      return `I/O unblocked${on}${d.reason ? `: ${d.reason}` : ''}`;
    case 'ResyncStarted':
      return `${String(d.kind ?? '')} resync ${d.direction === 'from-partner' ? `${partner ?? '?'} → ${node ?? '?'}` : `${node ?? '?'} → ${partner ?? '?'}`} started (${bytes(d.bytes)})`;
    case 'ResyncProgress':
      return `resync ${node ?? '?'} / ${partner ?? '?'}: ${percent(d.doneBytes, d.totalBytes)} (${bytes(d.doneBytes)} of ${bytes(d.totalBytes)})`;
    case 'ResyncCompleted':
      return `${String(d.kind ?? '')} resync ${node ?? '?'} / ${partner ?? '?'} completed: ${bytes(d.bytes)} in ${d.seconds ?? '?'} s`;
    case 'SplitBrainDetected':
      return `split-brain detected by ${node ?? '?'} with ${partner ?? '?'}${d.evidence ? `: ${d.evidence}` : ''}`;
    case 'SplitBrainResolved':
      return `split-brain resolved${on}: ${typeof d.survivorNodeId === 'string' ? nodeName(d.survivorNodeId) : '?'} survived`;
    case 'PathStateChanged':
      return `ALUA${on}: port group ${d.portGroup ?? '?'} ${String(d.state ?? '?')}`;
    case 'SyncLatencyHigh':
      return `sync latency ${node ?? '?'} → ${partner ?? '?'}: ${typeof d.rttMicros === 'number' ? `${(d.rttMicros / 1000).toFixed(1)} ms` : '?'}`;
    case 'AlertRaised':
      return `${String(d.kind ?? 'alert')} (${String(d.severity ?? '?').toUpperCase()}): ${String(d.message ?? '')}`;
    case 'AlertCleared':
      return `${String(d.kind ?? 'alert')}: ${String(d.message ?? 'cleared')}`;
    default:
      return node ? `${node}` : '';
  }
}

export function entryOfEvent(event: EventView, nodeName: NodeName): TimelineEntry {
  return { position: Number(event.globalPosition), type: event.type, recordedAt: event.recordedAt, text: describeEvent(event, nodeName) };
}

/** An alert's raise and (when cleared) its clearing, as two entries at their own positions. */
export function entriesOfAlert(alert: DeviceAlertView): TimelineEntry[] {
  const raised: TimelineEntry = { position: Number(alert.raisedPosition), type: 'AlertRaised', recordedAt: alert.raisedAt, text: `${alert.kind} (${alert.severity}): ${alert.message}` };
  if (alert.clearedPosition === null || alert.clearedAt === null) return [raised];
  return [raised, { position: Number(alert.clearedPosition), type: 'AlertCleared', recordedAt: alert.clearedAt, text: `${alert.kind}: ${alert.clearedMessage ?? 'cleared'}` }];
}

/** Merges entries into a timeline: one entry per position (the newer text wins), newest first. */
export function mergeTimeline(current: readonly TimelineEntry[], additions: readonly TimelineEntry[]): TimelineEntry[] {
  const byPosition = new Map<number, TimelineEntry>();
  for (const entry of current) byPosition.set(entry.position, entry);
  for (const entry of additions) byPosition.set(entry.position, entry);
  return [...byPosition.values()].sort((a, b) => b.position - a.position);
}
