import { alertsActiveAt, hostTargets, shutdownEstimates, summarizeResyncs } from './deviceFacts';
import type { ReplicaView, ResyncView } from './deviceQueries';

const resync = (over: Partial<ResyncView>): ResyncView => ({
  sourceNodeId: 'a',
  targetNodeId: 'b',
  kind: 'FULL',
  doneBytes: 0,
  totalBytes: 100,
  bytesPerSecond: null,
  etaSeconds: null,
  startedAt: null,
  progressAt: null,
  ...over,
});

const replica = (over: Partial<ReplicaView>): ReplicaView => ({
  nodeId: 'n1',
  priority: 100,
  state: 'ACTIVE',
  export: 'EXPORTED',
  targetName: 'iqn.2026-01.io.tandem:db',
  lun: 0,
  iscsiUrl: null,
  lastError: null,
  storeKind: null,
  cache: null,
  node: { id: 'n1', name: 'node-a', portals: [{ host: '10.0.0.1', port: 3260 }], health: 'OK', healthReasons: [], reachable: true, inMaintenance: false },
  ha: null,
  ...over,
});

describe('summarizeResyncs', () => {
  it('is null without a resync', () => {
    expect(summarizeResyncs([])).toBeNull();
  });

  it('adds the resyncs up: whole percent, summed rate, longest ETA', () => {
    const s = summarizeResyncs([
      resync({ doneBytes: 30, totalBytes: 100, bytesPerSecond: 10, etaSeconds: 7 }),
      resync({ targetNodeId: 'c', doneBytes: 1, totalBytes: 100, bytesPerSecond: null, etaSeconds: 99 }),
    ]);
    expect(s).toEqual({ percent: 15, doneBytes: 31, totalBytes: 200, bytesPerSecond: 10, etaSeconds: 99, count: 2 });
    expect(summarizeResyncs([resync({ totalBytes: 0 })])?.percent).toBe(0);
  });
});

describe('hostTargets', () => {
  it('gives each exported replica an iscsi://host:port/iqn/lun URL per portal, IPv6 hosts bracketed', () => {
    const targets = hostTargets({
      replicas: [
        replica({}),
        replica({ nodeId: 'n2', lun: 3, node: { ...replica({}).node!, id: 'n2', name: 'node-b', portals: [{ host: 'fd00::2', port: 3261 }] } }),
        replica({ nodeId: 'n3', export: 'PENDING', targetName: null, lun: null }),
      ],
    });
    expect(targets).toEqual([
      { nodeName: 'node-a', targetName: 'iqn.2026-01.io.tandem:db', lun: 0, portals: ['10.0.0.1:3260'], urls: ['iscsi://10.0.0.1:3260/iqn.2026-01.io.tandem:db/0'] },
      { nodeName: 'node-b', targetName: 'iqn.2026-01.io.tandem:db', lun: 3, portals: ['[fd00::2]:3261'], urls: ['iscsi://[fd00::2]:3261/iqn.2026-01.io.tandem:db/3'] },
    ]);
  });
});

describe('shutdownEstimates', () => {
  it("picks the ShutdownTooLong alerts about the device's nodes and reads their evidence", () => {
    const alerts = [
      { id: '1', kind: 'ShutdownTooLong', message: 'slow flush', evidence: { flushSeconds: 200, dirtyBytes: 4e9, limitSeconds: 120 }, subject: { id: 'n1', name: 'node-a' } },
      { id: '2', kind: 'ShutdownTooLong', message: 'other node', evidence: {}, subject: { id: 'n9', name: 'node-z' } },
      { id: '3', kind: 'CapacityLow', message: 'full', evidence: {}, subject: { id: 'n1', name: 'node-a' } },
    ];
    expect(shutdownEstimates({ replicas: [replica({})] }, alerts)).toEqual([
      { nodeId: 'n1', nodeName: 'node-a', flushSeconds: 200, dirtyBytes: 4e9, limitSeconds: 120, message: 'slow flush' },
    ]);
  });
  it("takes each replica's own cache figures when its node reported them, with the node's alert beside them", () => {
    const cache = { dirtyBytes: 8 << 20, flushSeconds: 1.5, observedAt: '2026-12-07T23:00:00Z' };
    const alerts = [{ id: '1', kind: 'ShutdownTooLong', message: 'slow flush', evidence: { flushSeconds: 200, dirtyBytes: 4e9, limitSeconds: 120 }, subject: { id: 'n1', name: 'node-a' } }];
    expect(shutdownEstimates({ replicas: [replica({ cache })] }, alerts)).toEqual([
      { nodeId: 'n1', nodeName: 'node-a', flushSeconds: 1.5, dirtyBytes: 8 << 20, limitSeconds: 120, message: 'slow flush' },
    ]);
    expect(shutdownEstimates({ replicas: [replica({ cache })] }, [])).toEqual([
      { nodeId: 'n1', nodeName: 'node-a', flushSeconds: 1.5, dirtyBytes: 8 << 20, limitSeconds: null, message: null },
    ]);
    expect(shutdownEstimates({ replicas: [replica({ cache: null })] }, [])).toEqual([]);
  });
});

describe('alertsActiveAt', () => {
  const alert = (id: string, raised: number, cleared: number | null) => ({
    id, kind: 'DeviceDegraded', severity: 'WARNING', active: cleared === null, message: id, raisedAt: '', raisedPosition: raised,
    clearedAt: cleared === null ? null : '', clearedPosition: cleared, clearedMessage: null,
  });
  const alerts = [alert('old', 3, 8), alert('open', 10, null), alert('later', 20, 25)];

  it('now: the active ones; as of a position: raised by then and not yet cleared, newest first', () => {
    expect(alertsActiveAt(alerts, null).map((a) => a.id)).toEqual(['open']);
    expect(alertsActiveAt(alerts, 5).map((a) => a.id)).toEqual(['old']);
    expect(alertsActiveAt(alerts, 8).map((a) => a.id)).toEqual([]);
    expect(alertsActiveAt(alerts, 22).map((a) => a.id)).toEqual(['later', 'open']);
  });
});
