// The alert rules over plain rows and telemetry: each kind raised by its condition, and cleared (absent) without it.
import type { NodeTelemetry } from '@tandem/contracts';
import type { ClusterRow, DeviceRow, NodeRow, ReplicaRow } from '../database/entities/readModel.entities';
import { canJudge, conditionKey, evaluateAlerts, type FleetFacts } from './alertRules';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const CLUSTER = 'cccccccc-0000-4000-8000-00000000000c';
const DEVICE = 'dddddddd-0000-4000-8000-00000000000d';
const NOW = Date.parse('2026-12-07T12:00:00Z');

const node = (nodeId: string, name: string, over: Partial<NodeRow> = {}): NodeRow => ({
  nodeId, name, softwareVersion: '0.1.0', build: 'dev', portals: [], syncAddresses: [], heartbeatAddresses: [], capacityBytes: 1, allocatedBytes: 0,
  clusterId: CLUSTER, inMaintenance: false, maintenanceReason: null, health: 'ok', healthReason: null, reachable: true, reachabilityChangedAt: null,
  version: 1, createdPosition: 1, updatedPosition: 1, createdAt: new Date(0), ...over,
});
const replica = (nodeId: string, over: Partial<ReplicaRow> = {}): ReplicaRow => ({
  nodeId, priority: 1, state: 'exported', targetName: 't', lun: 0, lastError: null,
  ha: { portGroup: 1, paths: 'optimized', syncAddresses: [{ host: `10.0.0.${nodeId === A ? 1 : 2}`, port: 3262 }], heartbeatAddresses: [{ host: `10.9.0.${nodeId === A ? 1 : 2}`, port: 3263 }], accessState: null, blockedReason: null, partners: {} },
  ...over,
});
const device = (replicas: ReplicaRow[]): DeviceRow => ({
  deviceId: DEVICE, clusterId: CLUSTER, name: 'vm1', sizeBytes: 1, sectorSize: 512, storeKind: 'FLAT', cacheMode: 'none', replicas,
  ha: { strategy: 'heartbeat', witness: [], initialSync: 'NONE', initialGeneration: 'g' }, version: 1, createdPosition: 1, updatedPosition: 1, createdAt: new Date(0),
});
const cluster: ClusterRow = { clusterId: CLUSTER, siteId: 's', name: 'c1', haStrategy: 'heartbeat', witness: null, version: 1, createdPosition: 1, updatedPosition: 1, createdAt: new Date(0) };
const telemetry = (nodeId: string, over: Partial<NodeTelemetry> = {}, partner?: { nodeId: string; linksUp: number; linksConfigured: number; rttMicros: number | null }): NodeTelemetry => ({
  nodeId, sentAt: new Date(NOW).toISOString(), intervalMs: 1000, health: 'ok', usedBytes: 0, imageFsBytes: 1000, imageFsFreeBytes: 500,
  devices: [{ deviceId: DEVICE, readIops: 0, writeIops: 0, readBytesPerSecond: 0, writeBytesPerSecond: 0, readLatencyMicros: 0, writeLatencyMicros: 0, queueDepth: 0, cacheDirtyBytes: 0, cacheFlushSeconds: 0, ...(partner ? { ha: { partners: [{ state: 'synchronized', ...partner }] } } : {}) }],
  ...over,
});
const facts = (over: Partial<FleetFacts> = {}): FleetFacts => ({
  nodes: [node(A, 'node-a'), node(B, 'node-b')], devices: [device([replica(A), replica(B)])], clusters: [cluster], telemetry: new Map(), lastSeen: new Map(), active: new Set(), now: NOW, ...over,
});
const kinds = (f: FleetFacts) => evaluateAlerts(f).map((c) => `${c.kind}:${c.subject.name}`).sort();

describe('alert rules', () => {
  it('a healthy fleet raises nothing', () => {
    expect(kinds(facts({ telemetry: new Map([[A, telemetry(A, {}, { nodeId: B, linksUp: 1, linksConfigured: 1, rttMicros: 300 })]]) }))).toEqual([]);
  });

  it('an unreachable node raises NodeUnreachable, and its HA device DeviceDegraded naming the replica', () => {
    const f = facts({ nodes: [node(A, 'node-a'), node(B, 'node-b', { reachable: false })], lastSeen: new Map([[B, NOW - 7000]]) });
    const out = evaluateAlerts(f);
    expect(out.map((c) => c.kind).sort()).toEqual(['DeviceDegraded', 'NodeUnreachable']);
    expect(out.find((c) => c.kind === 'NodeUnreachable')).toMatchObject({ severity: 'critical', subject: { kind: 'node', id: B, name: 'node-b' }, message: expect.stringContaining('last heard 7 s ago') });
    expect(out.find((c) => c.kind === 'DeviceDegraded')?.message).toContain('node-b: node node-b is unreachable');
  });

  it('a device with no serving replica is DeviceOffline; all blocked is DeviceBlocked; split-brain is SplitBrain', () => {
    const offline = facts({ nodes: [node(A, 'node-a', { reachable: false }), node(B, 'node-b', { reachable: false })] });
    expect(kinds(offline)).toEqual(['DeviceOffline:vm1', 'NodeUnreachable:node-a', 'NodeUnreachable:node-b']);
    const blocked = (r: string) => ({ ...replica(A).ha!, blockedReason: r });
    expect(kinds(facts({ devices: [device([replica(A, { ha: blocked('x') }), replica(B, { ha: { ...blocked('y'), heartbeatAddresses: [{ host: '10.9.0.2', port: 3263 }] } })])] }))).toEqual(['DeviceBlocked:vm1']);
    const split = { ...replica(A).ha!, partners: { [B]: { state: 'split-brain' as const, reason: 'both advanced', resync: null } } };
    expect(kinds(facts({ devices: [device([replica(A, { ha: split }), replica(B)])] }))).toEqual(['SplitBrain:vm1']);
  });

  it('SyncLatencyHigh above 5 ms, kept until below 4 ms once active (hysteresis)', () => {
    const at = (rtt: number, active = new Set<string>()) => kinds(facts({ active, telemetry: new Map([[A, telemetry(A, {}, { nodeId: B, linksUp: 1, linksConfigured: 1, rttMicros: rtt })]]) }));
    expect(at(6000)).toEqual(['SyncLatencyHigh:node-a > node-b']);
    expect(at(4500)).toEqual([]);
    const active = new Set([conditionKey('SyncLatencyHigh', { kind: 'link', id: `${A}_${B}` })]);
    expect(at(4500, active)).toEqual(['SyncLatencyHigh:node-a > node-b']);
    expect(at(3900, active)).toEqual([]);
  });

  it('SyncLinkDown when one link of several is down and another still carries the mirror', () => {
    const at = (up: number) => kinds(facts({ telemetry: new Map([[A, telemetry(A, {}, { nodeId: B, linksUp: up, linksConfigured: 2, rttMicros: 200 })]]) }));
    expect(at(1)).toEqual(['SyncLinkDown:node-a > node-b']);
    expect(at(2)).toEqual([]);
    expect(at(0)).toEqual([]); // all links down is the partner's loss, reported by the device's state instead
  });

  it('CapacityLow over 90 % full, ShutdownTooLong when the dirty caches take over the limit to write out', () => {
    expect(kinds(facts({ telemetry: new Map([[A, telemetry(A, { imageFsBytes: 1000, imageFsFreeBytes: 50 })]]) }))).toEqual(['CapacityLow:node-a']);
    const slow = telemetry(A);
    slow.devices[0].cacheFlushSeconds = 200;
    slow.devices[0].cacheDirtyBytes = 4e9;
    const out = evaluateAlerts(facts({ telemetry: new Map([[A, slow]]) }));
    expect(out).toMatchObject([{ kind: 'ShutdownTooLong', evidence: { flushSeconds: 200, dirtyBytes: 4e9, limitSeconds: 120 } }]);
  });

  it('HeartbeatSharesSyncLink when a replica heartbeats over its sync addresses', () => {
    const shared = { ...replica(A).ha!, heartbeatAddresses: [{ host: '10.0.0.1', port: 3263 }] };
    expect(kinds(facts({ devices: [device([replica(A, { ha: shared }), replica(B)])] }))).toEqual(['HeartbeatSharesSyncLink:vm1']);
  });

  it('VersionMismatch when a cluster runs two builds', () => {
    expect(kinds(facts({ nodes: [node(A, 'node-a'), node(B, 'node-b', { build: 'other' })] }))).toEqual(['VersionMismatch:c1']);
  });

  it('ResyncStalled after 30 s without progress from a reachable source', () => {
    const resync = (progressAt: string) => ({ ...replica(A).ha!, partners: { [B]: { state: 'resync-to' as const, reason: null, resync: { kind: 'fast', doneBytes: 1, totalBytes: 9, startedAt: '2026-12-07T11:58:00Z', progressAt } } } });
    expect(kinds(facts({ devices: [device([replica(A, { ha: resync('2026-12-07T11:59:20Z') }), replica(B)])] }))).toEqual(['DeviceDegraded:vm1', 'ResyncStalled:vm1']);
    expect(kinds(facts({ devices: [device([replica(A, { ha: resync('2026-12-07T11:59:50Z') }), replica(B)])] }))).toEqual(['DeviceDegraded:vm1']);
  });

  it('alerts judged from telemetry are not judged for a node that is not heard', () => {
    const f = facts({ telemetry: new Map([[A, telemetry(A)]]) });
    expect(canJudge(f, 'CapacityLow', { kind: 'node', id: A })).toBe(true);
    expect(canJudge(f, 'CapacityLow', { kind: 'node', id: B })).toBe(false);
    expect(canJudge(f, 'SyncLatencyHigh', { kind: 'link', id: `${B}_${A}` })).toBe(false);
    expect(canJudge(f, 'DeviceDegraded', { kind: 'device', id: DEVICE })).toBe(true);
  });
});
