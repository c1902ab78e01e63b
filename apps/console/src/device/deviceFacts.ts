/**
 * What the device page derives from the API's answer: resync totals for the progress bar, the iSCSI targets and
 * URLs to give a host, the replicas' nodes' shutdown (cache flush) estimates from their alerts, and the device's
 * alerts active at a position.
 */
import type { AddressView, DeviceAlertView, DeviceView, NodeAlertView, ResyncView } from './deviceQueries';

export interface ResyncSummary {
  /** Whole percent done over every running resync, 0–100. */
  percent: number;
  doneBytes: number;
  totalBytes: number;
  /** Sum of the resyncs' rates; null until one reports a rate. */
  bytesPerSecond: number | null;
  /** The longest ETA; null until one reports it. */
  etaSeconds: number | null;
  count: number;
}

/** Null when the health reports no resync. */
export function summarizeResyncs(resyncs: readonly ResyncView[]): ResyncSummary | null {
  if (resyncs.length === 0) return null;
  const doneBytes = resyncs.reduce((sum, r) => sum + Number(r.doneBytes), 0);
  const totalBytes = resyncs.reduce((sum, r) => sum + Number(r.totalBytes), 0);
  const rates = resyncs.map((r) => r.bytesPerSecond).filter((v): v is number => v !== null);
  const etas = resyncs.map((r) => r.etaSeconds).filter((v): v is number => v !== null);
  const percent = totalBytes > 0 ? Math.min(100, Math.floor((doneBytes * 100) / totalBytes)) : 0;
  return {
    percent,
    doneBytes,
    totalBytes,
    bytesPerSecond: rates.length > 0 ? rates.reduce((a, b) => a + Number(b), 0) : null,
    etaSeconds: etas.length > 0 ? Math.max(...etas) : null,
    count: resyncs.length,
  };
}

const hostPart = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

export const formatAddress = (a: AddressView): string => `${hostPart(a.host)}:${a.port}`;

export interface HostTarget {
  nodeName: string;
  targetName: string;
  lun: number;
  portals: string[];
  /** iscsi://host:port/iqn/lun for every portal of the node. */
  urls: string[];
}

/** One entry per exported replica: the target, its LUN and the node's portals, as a host's initiator needs them. */
export function hostTargets(device: Pick<DeviceView, 'replicas'>): HostTarget[] {
  const targets: HostTarget[] = [];
  for (const r of device.replicas) {
    if (r.export !== 'EXPORTED' || r.targetName === null || r.lun === null) continue;
    const portals = (r.node?.portals ?? []).map(formatAddress);
    targets.push({
      nodeName: r.node?.name ?? r.nodeId,
      targetName: r.targetName,
      lun: r.lun,
      portals,
      urls: portals.map((p) => `iscsi://${p}/${r.targetName}/${r.lun}`),
    });
  }
  return targets;
}

export interface ShutdownEstimate {
  nodeId: string;
  nodeName: string;
  /** This device's dirty cache on the node (null: only the node-wide alert says anything). */
  flushSeconds: number | null;
  dirtyBytes: number | null;
  /** Set when the node's whole cache is over its shutdown limit (an active ShutdownTooLong alert). */
  limitSeconds: number | null;
  message: string | null;
}

/**
 * Per replica: its cache as its node last reported it (dirty bytes, time to write them out), and the node's active
 * ShutdownTooLong alert when there is one (its figures are the node's whole cache, over every device).
 */
export function shutdownEstimates(device: Pick<DeviceView, 'replicas'>, alerts: readonly NodeAlertView[]): ShutdownEstimate[] {
  const out: ShutdownEstimate[] = [];
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  for (const r of device.replicas) {
    const alert = alerts.find((a) => a.kind === 'ShutdownTooLong' && a.subject.id === r.nodeId);
    const evidence = (alert?.evidence ?? {}) as Record<string, unknown>;
    if (!r.cache && !alert) continue;
    out.push({
      nodeId: r.nodeId,
      nodeName: r.node?.name ?? alert?.subject.name ?? r.nodeId,
      dirtyBytes: r.cache ? r.cache.dirtyBytes : num(evidence.dirtyBytes),
      flushSeconds: r.cache ? r.cache.flushSeconds : num(evidence.flushSeconds),
      limitSeconds: alert ? num(evidence.limitSeconds) : null,
      message: alert?.message ?? null,
    });
  }
  return out;
}

/** The alerts active right after `position` (null: now), newest first: raised by then and not yet cleared. */
export function alertsActiveAt(alerts: readonly DeviceAlertView[], position: number | null): DeviceAlertView[] {
  return alerts
    .filter((a) => (position === null ? a.active : Number(a.raisedPosition) <= position && (a.clearedPosition === null || Number(a.clearedPosition) > position)))
    .sort((a, b) => Number(b.raisedPosition) - Number(a.raisedPosition));
}
