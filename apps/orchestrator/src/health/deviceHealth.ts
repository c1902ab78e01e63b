/**
 * Device health from every replica's reported HA state and from node liveness: one pure function, used by the
 * gateway's `state` fields, by the alert rules and by time travel, so every view derives the same truth.
 */
import type { DeviceRow, NodeRow, PartnerView, ReplicaRow } from '../database/entities/readModel.entities';

export type DeviceHealthState = 'ONLINE' | 'DEGRADED' | 'RESYNCING' | 'BLOCKED' | 'SPLIT_BRAIN' | 'OFFLINE' | 'PENDING';

export interface ReplicaHealth {
  nodeId: string;
  nodeName: string;
  /** Exported by a reachable, active node and not blocked: initiators can use it now. */
  serving: boolean;
  /** Serving and holding every acknowledged write (no live partner says otherwise). */
  synchronized: boolean;
  /** Why it is not synchronized (null when it is). */
  reason: string | null;
}

export interface ResyncView {
  sourceNodeId: string;
  targetNodeId: string;
  kind: string;
  doneBytes: number;
  totalBytes: number;
  /** From the first and last progress reports; null until there are two. */
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  startedAt: string | null;
  progressAt: string | null;
}

export interface DeviceHealth {
  state: DeviceHealthState;
  replicaCount: number;
  synchronizedCopies: number;
  replicas: ReplicaHealth[];
  resyncs: ResyncView[];
  /** BLOCKED: why each blocked replica stopped I/O. */
  blockedReasons: string[];
  /** SPLIT_BRAIN: what each replica reported as evidence. */
  splitBrainEvidence: string[];
  /** One line per problem, naming the replica (empty when ONLINE). */
  reasons: string[];
}

type NodeOf = (nodeId: string) => Pick<NodeRow, 'name' | 'reachable' | 'inMaintenance'> | undefined;

/** A partner state that says the partner lacks writes this replica has. */
const BEHIND: ReadonlySet<PartnerView['state']> = new Set(['not-synchronized', 'resync-to', 'split-brain']);

export function deviceHealth(device: Pick<DeviceRow, 'replicas'>, nodeOf: NodeOf): DeviceHealth {
  const name = (nodeId: string) => nodeOf(nodeId)?.name ?? nodeId;
  // Views of replicas whose node we hear now and that hold an export; a silent node's last words may be stale.
  const speaks = (r: ReplicaRow) => r.state === 'exported' && nodeOf(r.nodeId)?.reachable === true;
  const observers = device.replicas.filter(speaks);

  const resyncs: ResyncView[] = [];
  const splitBrainEvidence: string[] = [];
  for (const o of observers) {
    for (const [partnerId, view] of Object.entries(o.ha?.partners ?? {})) {
      if (view.state === 'split-brain') splitBrainEvidence.push(`${name(o.nodeId)} about ${name(partnerId)}: ${view.reason ?? 'histories differ'}`);
      if (view.state === 'resync-to' && view.resync) resyncs.push(resyncView(o.nodeId, partnerId, view));
    }
  }
  // A target whose source is silent still tells its side.
  for (const o of observers) {
    for (const [partnerId, view] of Object.entries(o.ha?.partners ?? {})) {
      if (view.state === 'resync-from' && view.resync && !resyncs.some((r) => r.targetNodeId === o.nodeId && r.sourceNodeId === partnerId)) {
        resyncs.push(resyncView(partnerId, o.nodeId, view));
      }
    }
  }

  const replicas = device.replicas.map((r): ReplicaHealth => {
    const node = nodeOf(r.nodeId);
    const notServing = whyNotServing(r, node);
    const behindBy = observers.find((o) => o !== r && BEHIND.has(o.ha?.partners[r.nodeId]?.state ?? 'synchronized'));
    const receiving = Object.entries(r.ha?.partners ?? {}).find(([, v]) => v.state === 'resync-from' || v.state === 'split-brain');
    let reason = notServing;
    if (!reason && behindBy) {
      const view = behindBy.ha!.partners[r.nodeId];
      reason =
        view.state === 'resync-to'
          ? `being resynchronized from ${name(behindBy.nodeId)}${view.resync ? ` (${view.resync.doneBytes} of ${view.resync.totalBytes} bytes)` : ''}`
          : view.state === 'split-brain'
            ? `split-brain with ${name(behindBy.nodeId)}`
            : `${name(behindBy.nodeId)} reports it not synchronized${view.reason ? `: ${view.reason}` : ''}`;
    }
    if (!reason && receiving) reason = receiving[1].state === 'split-brain' ? `split-brain with ${name(receiving[0])}` : `receiving a resync from ${name(receiving[0])}`;
    return { nodeId: r.nodeId, nodeName: name(r.nodeId), serving: notServing === null, synchronized: reason === null, reason };
  });

  const replicaCount = replicas.length;
  const synchronizedCopies = replicas.filter((r) => r.synchronized).length;
  const serving = replicas.filter((r) => r.serving).length;
  const blockedReasons = device.replicas.filter((r) => speaks(r) && r.ha?.blockedReason).map((r) => `${name(r.nodeId)}: ${r.ha!.blockedReason}`);
  const reasons = replicas.filter((r) => r.reason).map((r) => `${r.nodeName}: ${r.reason}`);
  const health = { replicaCount, synchronizedCopies, replicas, resyncs, blockedReasons, splitBrainEvidence, reasons };

  if (device.replicas.every((r) => r.state === 'pending' && r.lastError === null)) return { ...health, state: 'PENDING' };
  if (splitBrainEvidence.length > 0) return { ...health, state: 'SPLIT_BRAIN' };
  if (serving === 0) return { ...health, state: blockedReasons.length > 0 ? 'BLOCKED' : 'OFFLINE' };
  if (synchronizedCopies === replicaCount) return { ...health, state: 'ONLINE' };
  return { ...health, state: resyncs.length > 0 ? 'RESYNCING' : 'DEGRADED' };
}

function whyNotServing(r: ReplicaRow, node: ReturnType<NodeOf>): string | null {
  if (!node) return 'its node is not registered';
  if (!node.reachable) return `node ${node.name} is unreachable`;
  if (node.inMaintenance) return `node ${node.name} is in maintenance`;
  if (r.state === 'pending') return r.lastError ? `not exported: ${r.lastError}` : 'not exported yet';
  if (r.state === 'withdrawn') return 'withdrawn by its node';
  if (r.ha?.blockedReason) return `blocked: ${r.ha.blockedReason}`;
  return null;
}

function resyncView(sourceNodeId: string, targetNodeId: string, view: PartnerView): ResyncView {
  const { kind, doneBytes, totalBytes, startedAt, progressAt } = view.resync!;
  const seconds = startedAt && progressAt ? (Date.parse(progressAt) - Date.parse(startedAt)) / 1000 : 0;
  const bytesPerSecond = seconds > 0 && doneBytes > 0 ? Math.round(doneBytes / seconds) : null;
  const etaSeconds = bytesPerSecond ? Math.max(0, Math.round((totalBytes - doneBytes) / bytesPerSecond)) : null;
  return { sourceNodeId, targetNodeId, kind, doneBytes, totalBytes, bytesPerSecond, etaSeconds, startedAt: startedAt ?? null, progressAt: progressAt ?? null };
}
