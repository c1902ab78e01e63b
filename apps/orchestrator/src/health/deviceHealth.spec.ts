// Device health from replica reports and liveness: every state, and the rules that keep stale reports out.
import type { NodeRow, PartnerView, ReplicaRow } from '../database/entities/readModel.entities';
import { deviceHealth } from './deviceHealth';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const C = 'cccccccc-0000-4000-8000-000000000003';
const names: Record<string, string> = { [A]: 'node-a', [B]: 'node-b', [C]: 'node-c' };

type NodeFacts = Pick<NodeRow, 'name' | 'reachable' | 'inMaintenance'>;
const nodes = (over: Record<string, Partial<NodeFacts>> = {}) => (id: string): NodeFacts | undefined =>
  names[id] ? { name: names[id], reachable: true, inMaintenance: false, ...over[id] } : undefined;

const view = (state: PartnerView['state'], extra: Partial<PartnerView> = {}): PartnerView => ({ state, reason: null, resync: null, ...extra });
function replica(nodeId: string, partners: Record<string, PartnerView> | null, over: Partial<ReplicaRow> = {}, blockedReason: string | null = null): ReplicaRow {
  return {
    nodeId,
    priority: 100,
    state: 'exported',
    targetName: 't',
    lun: 0,
    lastError: null,
    ha: partners ? { portGroup: 1, paths: 'optimized', syncAddresses: [], heartbeatAddresses: [], accessState: 'optimized', blockedReason, partners } : null,
    ...over,
  };
}

describe('deviceHealth', () => {
  it('ONLINE when every replica serves and no partner says otherwise', () => {
    const h = deviceHealth({ replicas: [replica(A, { [B]: view('synchronized') }), replica(B, { [A]: view('synchronized') })] }, nodes());
    expect(h).toMatchObject({ state: 'ONLINE', synchronizedCopies: 2, replicaCount: 2, reasons: [] });
  });

  it('a single-replica device is ONLINE when exported and OFFLINE when its node is unreachable', () => {
    expect(deviceHealth({ replicas: [replica(A, null)] }, nodes()).state).toBe('ONLINE');
    const h = deviceHealth({ replicas: [replica(A, null)] }, nodes({ [A]: { reachable: false } }));
    expect(h).toMatchObject({ state: 'OFFLINE', synchronizedCopies: 0, reasons: ['node-a: node node-a is unreachable'] });
  });

  it('PENDING until a node reports; OFFLINE once a refusal is known', () => {
    const pending = replica(A, null, { state: 'pending', targetName: null, lun: null });
    expect(deviceHealth({ replicas: [pending] }, nodes()).state).toBe('PENDING');
    expect(deviceHealth({ replicas: [{ ...pending, lastError: 'create-device: CONFLICT: no room' }] }, nodes()).state).toBe('OFFLINE');
  });

  it('DEGRADED names the replica a live partner reports not synchronized, even before liveness notices', () => {
    const h = deviceHealth({ replicas: [replica(A, { [B]: view('not-synchronized', { reason: 'sync links down' }) }), replica(B, { [A]: view('synchronized') })] }, nodes());
    expect(h.state).toBe('DEGRADED');
    expect(h.synchronizedCopies).toBe(1);
    expect(h.reasons).toEqual(['node-b: node-a reports it not synchronized: sync links down']);
  });

  it('an unreachable replica is not synchronized, and its stale report does not count', () => {
    // node-b is silent; its last words claimed node-a behind. node-a's view wins.
    const h = deviceHealth({ replicas: [replica(A, { [B]: view('not-synchronized') }), replica(B, { [A]: view('not-synchronized') })] }, nodes({ [B]: { reachable: false } }));
    expect(h.state).toBe('DEGRADED');
    expect(h.replicas.map((r) => [r.nodeName, r.synchronized])).toEqual([['node-a', true], ['node-b', false]]);
    expect(h.reasons).toEqual(['node-b: node node-b is unreachable']);
  });

  it('RESYNCING with bytes, rate and ETA from the progress reports; the target is not serving data it lacks', () => {
    const resync = { kind: 'fast', doneBytes: 40 << 20, totalBytes: 100 << 20, startedAt: '2026-12-07T10:00:00.000Z', progressAt: '2026-12-07T10:00:04.000Z' };
    const h = deviceHealth({ replicas: [replica(A, { [B]: view('resync-to', { resync }) }), replica(B, { [A]: view('resync-from', { resync }) })] }, nodes());
    expect(h.state).toBe('RESYNCING');
    expect(h.synchronizedCopies).toBe(1);
    expect(h.resyncs).toEqual([{ sourceNodeId: A, targetNodeId: B, kind: 'fast', doneBytes: 40 << 20, totalBytes: 100 << 20, bytesPerSecond: 10 << 20, etaSeconds: 6, startedAt: resync.startedAt, progressAt: resync.progressAt }]);
    expect(h.reasons[0]).toMatch(/^node-b: being resynchronized from node-a/);
  });

  it('a resync seen only from its target still shows, without a rate before a second report', () => {
    const resync = { kind: 'full', doneBytes: 0, totalBytes: 10, startedAt: '2026-12-07T10:00:00.000Z', progressAt: '2026-12-07T10:00:00.000Z' };
    const h = deviceHealth({ replicas: [replica(A, { [B]: view('synchronized') }, {}, null), replica(B, { [A]: view('resync-from', { resync }) })] }, nodes({ [A]: { reachable: false } }));
    expect(h.resyncs).toMatchObject([{ sourceNodeId: A, targetNodeId: B, bytesPerSecond: null, etaSeconds: null }]);
  });

  it('BLOCKED when arbitration stopped I/O on every replica that speaks, with the reasons', () => {
    const h = deviceHealth(
      { replicas: [replica(A, { [B]: view('not-synchronized') }, {}, 'no majority'), replica(B, { [A]: view('not-synchronized') }, {}, 'lower priority, sync down')] },
      nodes(),
    );
    expect(h).toMatchObject({ state: 'BLOCKED', synchronizedCopies: 0, blockedReasons: ['node-a: no majority', 'node-b: lower priority, sync down'] });
  });

  it('OFFLINE, not BLOCKED, when nothing speaks at all', () => {
    const h = deviceHealth({ replicas: [replica(A, {}, {}, 'starting'), replica(B, {})] }, nodes({ [A]: { reachable: false }, [B]: { reachable: false } }));
    expect(h.state).toBe('OFFLINE');
  });

  it('SPLIT_BRAIN shows the evidence and outranks everything else', () => {
    const h = deviceHealth(
      { replicas: [replica(A, { [B]: view('split-brain', { reason: 'generations 5 and 7 both advanced' }) }), replica(B, { [A]: view('split-brain', { reason: 'diverged' }) }, {}, 'split-brain')] },
      nodes(),
    );
    expect(h.state).toBe('SPLIT_BRAIN');
    expect(h.splitBrainEvidence).toEqual(['node-a about node-b: generations 5 and 7 both advanced', 'node-b about node-a: diverged']);
  });

  it('a replica on a node in maintenance is not serving', () => {
    const h = deviceHealth({ replicas: [replica(A, { [B]: view('synchronized') }), replica(B, { [A]: view('synchronized') })] }, nodes({ [B]: { inMaintenance: true } }));
    expect(h).toMatchObject({ state: 'DEGRADED', reasons: ['node-b: node node-b is in maintenance'] });
  });

  it('three replicas: one behind leaves two synchronized copies', () => {
    const h = deviceHealth(
      { replicas: [replica(A, { [B]: view('synchronized'), [C]: view('not-synchronized') }), replica(B, { [A]: view('synchronized'), [C]: view('not-synchronized') }), replica(C, {}, {}, 'rejoining')] },
      nodes(),
    );
    expect(h).toMatchObject({ state: 'DEGRADED', synchronizedCopies: 2, replicaCount: 3 });
  });
});
