import { describeEvent, entriesOfAlert, entryOfEvent, isAboutDevice, mergeTimeline } from './timeline';

const DEV = '11111111-1111-4111-8111-111111111111';
const names: Record<string, string> = { a: 'node-a', b: 'node-b' };
const nodeName = (id: string) => names[id] ?? id;

describe('timeline', () => {
  it("keeps the device's own stream, its replicas' reports and alerts about it", () => {
    expect(isAboutDevice({ streamId: `device-${DEV}`, data: {} }, DEV)).toBe(true);
    expect(isAboutDevice({ streamId: 'agent-a', data: { deviceId: DEV } }, DEV)).toBe(true);
    expect(isAboutDevice({ streamId: 'agent-a', data: { deviceId: 'other' } }, DEV)).toBe(false);
    expect(isAboutDevice({ streamId: 'alert-x', data: { subject: { kind: 'device', id: DEV } } }, DEV)).toBe(true);
    expect(isAboutDevice({ streamId: 'alert-x', data: { subject: { kind: 'node', id: DEV } } }, DEV)).toBe(false);
  });

  it('says what each event did in one line', () => {
    expect(describeEvent({ type: 'DeviceResized', data: { previousSizeBytes: 1024 ** 3, sizeBytes: 2 * 1024 ** 3 } }, nodeName)).toBe('resized 1 GiB → 2 GiB');
    expect(describeEvent({ type: 'ResyncProgress', data: { nodeId: 'a', partnerNodeId: 'b', doneBytes: 512, totalBytes: 1024 } }, nodeName)).toBe(
      'resync node-a / node-b: 50 % (512 B of 1 KiB)',
    );
    expect(describeEvent({ type: 'ReplicaNotSynchronized', data: { nodeId: 'a', partnerNodeId: 'b', reason: 'sync link down' } }, nodeName)).toBe(
      'node-a sees node-b not synchronized: sync link down',
    );
    expect(describeEvent({ type: 'SomethingNew', data: {} }, nodeName)).toBe('');
  });

  it('merges entries newest first, one per position', () => {
    const older = entryOfEvent({ globalPosition: 5, type: 'DeviceCreated', streamId: `device-${DEV}`, recordedAt: '2026-01-01T00:00:00Z', data: { name: 'db', sizeBytes: 1024, replicas: [{}, {}], ha: {} } }, nodeName);
    expect(older.text).toBe('created db: 1 KiB, 2 replicas (HA)');
    const alert = entriesOfAlert({
      id: 'x', kind: 'DeviceDegraded', severity: 'WARNING', active: false, message: 'node-b unreachable',
      raisedAt: '2026-01-01T00:01:00Z', raisedPosition: 9, clearedAt: '2026-01-01T00:02:00Z', clearedPosition: 12, clearedMessage: 'all synchronized',
    });
    expect(alert.map((e) => [e.position, e.type])).toEqual([[9, 'AlertRaised'], [12, 'AlertCleared']]);
    const merged = mergeTimeline([older, alert[0]], [alert[1], { ...alert[0], text: 'again' }]);
    expect(merged.map((e) => e.position)).toEqual([12, 9, 5]);
    expect(merged[1].text).toBe('again');
  });
});
