/**
 * The alert rules: from the read models, node liveness and the latest telemetry to the set of conditions that
 * hold now. Pure; the evaluator raises what is new and clears what no longer holds (only where it could judge).
 */
import type { AlertKind, AlertSeverity, AlertSubject, NodeTelemetry } from '@tandem/contracts';
import type { ClusterRow, DeviceRow, NodeRow } from '../database/entities/readModel.entities';
import { deviceHealth, type DeviceHealthState } from '../health/deviceHealth';

export interface AlertThresholds {
  /** SyncLatencyHigh above this round trip (the reference's 5 ms); cleared below 80 % of it. */
  syncLatencyMicros: number;
  /** ShutdownTooLong when a node's dirty cache would take longer than this to write out. */
  shutdownSeconds: number;
  /** CapacityLow when the image file system is fuller than this. */
  capacityPercent: number;
  /** ResyncStalled after this long without progress. */
  resyncStallMs: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = { syncLatencyMicros: 5000, shutdownSeconds: 120, capacityPercent: 90, resyncStallMs: 30_000 };

export interface Condition {
  kind: AlertKind;
  severity: AlertSeverity;
  subject: AlertSubject;
  message: string;
  evidence: Record<string, string | number | boolean | null>;
}

export interface FleetFacts {
  nodes: readonly NodeRow[];
  devices: readonly DeviceRow[];
  clusters: readonly ClusterRow[];
  /** Latest telemetry of the nodes heard recently (since this orchestrator started); others are not judged on it. */
  telemetry: ReadonlyMap<string, NodeTelemetry>;
  lastSeen: ReadonlyMap<string, number>;
  /** Conditions active now (their keys), for hysteresis. */
  active: ReadonlySet<string>;
  now: number;
}

/**
 * How long a condition must hold before it is raised: one ping delayed behind a resync frame or a busy moment is
 * not a slow link. Kinds not listed are raised at once.
 */
export const HOLD_MS: Partial<Record<AlertKind, number>> = { SyncLatencyHigh: 5000, SyncLinkDown: 3000 };

export const conditionKey = (kind: string, subject: Pick<AlertSubject, 'kind' | 'id'>): string => `${kind}|${subject.kind}|${subject.id}`;

/** Kinds judged from telemetry: without fresh telemetry from the subject's node, an active one is left as it is. */
const FROM_TELEMETRY = new Set<AlertKind>(['SyncLatencyHigh', 'SyncLinkDown', 'ShutdownTooLong', 'CapacityLow']);

const DEVICE_KIND: Partial<Record<DeviceHealthState, { kind: AlertKind; severity: AlertSeverity }>> = {
  DEGRADED: { kind: 'DeviceDegraded', severity: 'warning' },
  RESYNCING: { kind: 'DeviceDegraded', severity: 'warning' },
  OFFLINE: { kind: 'DeviceOffline', severity: 'critical' },
  BLOCKED: { kind: 'DeviceBlocked', severity: 'critical' },
  SPLIT_BRAIN: { kind: 'SplitBrain', severity: 'critical' },
};

/** Whether an active alert of this kind and subject can be judged now (else it is neither raised nor cleared). */
export function canJudge(facts: Pick<FleetFacts, 'telemetry'>, kind: string, subject: Pick<AlertSubject, 'kind' | 'id'>): boolean {
  if (!FROM_TELEMETRY.has(kind as AlertKind)) return true;
  const nodeId = subject.kind === 'link' ? subject.id.split('_')[0] : subject.id;
  return facts.telemetry.has(nodeId);
}

export function evaluateAlerts(facts: FleetFacts, thresholds: AlertThresholds = DEFAULT_THRESHOLDS): Condition[] {
  const nodes = new Map(facts.nodes.map((n) => [n.nodeId, n]));
  const name = (nodeId: string) => nodes.get(nodeId)?.name ?? nodeId;
  const out: Condition[] = [];
  const seconds = (ms: number) => Math.round(ms / 100) / 10;

  for (const node of facts.nodes) {
    if (!node.reachable) {
      const last = facts.lastSeen.get(node.nodeId);
      out.push({
        kind: 'NodeUnreachable',
        severity: 'critical',
        subject: { kind: 'node', id: node.nodeId, name: node.name },
        message: `node ${node.name} is unreachable from the control plane${last ? ` (last heard ${seconds(facts.now - last)} s ago)` : ''}; its partners may still see it`,
        evidence: { lastSeenAt: last ? new Date(last).toISOString() : null, since: node.reachabilityChangedAt ? new Date(node.reachabilityChangedAt).toISOString() : null },
      });
    }
    const t = facts.telemetry.get(node.nodeId);
    if (!t) continue;
    if (t.imageFsBytes && t.imageFsFreeBytes !== undefined) {
      const usedPercent = (100 * (t.imageFsBytes - t.imageFsFreeBytes)) / t.imageFsBytes;
      if (usedPercent > thresholds.capacityPercent) {
        out.push({
          kind: 'CapacityLow',
          severity: 'warning',
          subject: { kind: 'node', id: node.nodeId, name: node.name },
          message: `node ${node.name}: image file system ${usedPercent.toFixed(1)} % full (over ${thresholds.capacityPercent} %); thin devices may fail writes`,
          evidence: { usedPercent: Math.round(usedPercent * 10) / 10, freeBytes: t.imageFsFreeBytes, totalBytes: t.imageFsBytes },
        });
      }
    }
    // Shutting down writes out every device's dirty cache: the node's estimate is their sum (seed 000's formula).
    const flushSeconds = t.devices.reduce((sum, d) => sum + (d.cacheFlushSeconds ?? 0), 0);
    if (flushSeconds > thresholds.shutdownSeconds) {
      const dirty = t.devices.reduce((sum, d) => sum + (d.cacheDirtyBytes ?? 0), 0);
      out.push({
        kind: 'ShutdownTooLong',
        severity: 'warning',
        subject: { kind: 'node', id: node.nodeId, name: node.name },
        message: `node ${node.name} needs about ${Math.round(flushSeconds)} s to write out ${dirty} dirty cache bytes on shutdown (limit ${thresholds.shutdownSeconds} s)`,
        evidence: { flushSeconds: Math.round(flushSeconds), dirtyBytes: dirty, limitSeconds: thresholds.shutdownSeconds },
      });
    }
    out.push(...linkConditions(node, t, name, facts.active, thresholds));
  }

  for (const device of facts.devices) {
    const subject: AlertSubject = { kind: 'device', id: device.deviceId, name: device.name };
    const health = deviceHealth(device, (id) => nodes.get(id));
    const alert = DEVICE_KIND[health.state];
    if (alert) {
      const detail = health.state === 'BLOCKED' ? health.blockedReasons : health.state === 'SPLIT_BRAIN' ? health.splitBrainEvidence : health.reasons;
      out.push({
        ...alert,
        subject,
        message: `device ${device.name} is ${health.state} (${health.synchronizedCopies} of ${health.replicaCount} copies synchronized): ${detail.join('; ')}`.slice(0, 1024),
        evidence: {
          state: health.state,
          synchronizedCopies: health.synchronizedCopies,
          replicaCount: health.replicaCount,
          ...Object.fromEntries(health.replicas.filter((r) => r.reason).slice(0, 8).map((r) => [`replica ${r.nodeName}`.slice(0, 64), r.reason!.slice(0, 2048)])),
        },
      });
    }
    for (const r of health.resyncs) {
      const progressAt = r.progressAt ? Date.parse(r.progressAt) : NaN;
      if (nodes.get(r.sourceNodeId)?.reachable && facts.now - progressAt > thresholds.resyncStallMs) {
        out.push({
          kind: 'ResyncStalled',
          severity: 'warning',
          subject,
          message: `device ${device.name}: the resync from ${name(r.sourceNodeId)} to ${name(r.targetNodeId)} has not progressed for ${seconds(facts.now - progressAt)} s (${r.doneBytes} of ${r.totalBytes} bytes)`,
          evidence: { source: name(r.sourceNodeId), target: name(r.targetNodeId), doneBytes: r.doneBytes, totalBytes: r.totalBytes, progressAt: r.progressAt },
        });
        break;
      }
    }
    const shared = (device.ha ? device.replicas : []).filter((r) => {
      const hb = r.ha?.heartbeatAddresses ?? [];
      const sync = new Set((r.ha?.syncAddresses ?? []).map((a) => a.host));
      return hb.length > 0 && hb.every((a) => sync.has(a.host));
    });
    if (shared.length > 0) {
      out.push({
        kind: 'HeartbeatSharesSyncLink',
        severity: 'warning',
        subject,
        message: `device ${device.name}: the heartbeat of ${shared.map((r) => name(r.nodeId)).join(', ')} runs over the sync link's addresses, so a cut sync link also silences the heartbeat and a dead partner cannot be told from a cut cable`,
        evidence: Object.fromEntries(shared.map((r) => [name(r.nodeId).slice(0, 64), (r.ha?.heartbeatAddresses ?? []).map((a) => `${a.host}:${a.port}`).join(', ')])),
      });
    }
  }

  for (const cluster of facts.clusters) {
    const members = facts.nodes.filter((n) => n.clusterId === cluster.clusterId);
    const builds = new Set(members.map((n) => `${n.softwareVersion}+${n.build}`));
    if (builds.size > 1) {
      out.push({
        kind: 'VersionMismatch',
        severity: 'warning',
        subject: { kind: 'cluster', id: cluster.clusterId, name: cluster.name },
        message: `cluster ${cluster.name} runs ${builds.size} builds: ${members.map((n) => `${n.name} ${n.softwareVersion} (${n.build})`).join(', ')}; every node of a cluster must run the same build`,
        evidence: Object.fromEntries(members.slice(0, 32).map((n) => [n.name.slice(0, 64), `${n.softwareVersion} (${n.build})`])),
      });
    }
  }
  return out;
}

/** SyncLatencyHigh and SyncLinkDown per pair of nodes, over every HA device the node reported. */
function linkConditions(node: NodeRow, t: NodeTelemetry, name: (id: string) => string, active: ReadonlySet<string>, thresholds: AlertThresholds): Condition[] {
  const byPartner = new Map<string, { rtt: number | null; down: string[]; devices: number }>();
  for (const d of t.devices) {
    for (const p of d.ha?.partners ?? []) {
      const entry = byPartner.get(p.nodeId) ?? { rtt: null, down: [], devices: 0 };
      entry.devices++;
      if (p.rttMicros !== null && p.linksUp > 0) entry.rtt = Math.max(entry.rtt ?? 0, p.rttMicros);
      // One link of several dead while the others carry the mirror: redundancy lost, the device still synchronized.
      if (p.linksUp > 0 && p.linksUp < p.linksConfigured) entry.down.push(`${d.deviceId}: ${p.linksUp} of ${p.linksConfigured} up`);
      byPartner.set(p.nodeId, entry);
    }
  }
  const out: Condition[] = [];
  for (const [partnerId, e] of byPartner) {
    const subject: AlertSubject = { kind: 'link', id: `${node.nodeId}_${partnerId}`, name: `${node.name} > ${name(partnerId)}` };
    const limit = active.has(conditionKey('SyncLatencyHigh', subject)) ? thresholds.syncLatencyMicros * 0.8 : thresholds.syncLatencyMicros;
    if (e.rtt !== null && e.rtt > limit) {
      out.push({
        kind: 'SyncLatencyHigh',
        severity: 'warning',
        subject,
        message: `sync links ${subject.name}: round trip ${(e.rtt / 1000).toFixed(2)} ms, over the ${thresholds.syncLatencyMicros / 1000} ms every mirrored write waits for`,
        evidence: { rttMicros: e.rtt, limitMicros: thresholds.syncLatencyMicros, devices: e.devices },
      });
    }
    if (e.down.length > 0) {
      out.push({
        kind: 'SyncLinkDown',
        severity: 'warning',
        subject,
        message: `sync links ${subject.name}: a link is down (${e.down.length} device(s) mirror over fewer links than configured)`,
        evidence: Object.fromEntries(e.down.slice(0, 16).map((d, i) => [`device${i + 1}`, d])),
      });
    }
  }
  return out;
}
