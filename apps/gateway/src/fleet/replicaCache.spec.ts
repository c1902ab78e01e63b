// A replica's cache as read from its node's stored telemetry: found by device, absent without a RAM cache or telemetry.
import { randomUUID } from 'crypto';
import { replicaCacheOf } from './replicaCache';

const deviceId = randomUUID();
const other = randomUUID();
const device = (id: string, extra: Record<string, unknown> = {}) => ({
  deviceId: id, readIops: 0, writeIops: 0, readBytesPerSecond: 0, writeBytesPerSecond: 0, readLatencyMicros: 0, writeLatencyMicros: 0, queueDepth: 0, ...extra,
});
const telemetry = (devices: unknown[]) => ({ nodeId: randomUUID(), sentAt: '2026-12-07T23:00:00.000Z', intervalMs: 1000, health: 'ok', usedBytes: 0, devices });

describe('replicaCacheOf', () => {
  it("gives the device's dirty bytes, flush estimate and when they were measured", () => {
    const t = telemetry([device(other, { cacheDirtyBytes: 1 }), device(deviceId, { cacheDirtyBytes: 3 << 20, cacheFlushSeconds: 2.5 })]);
    expect(replicaCacheOf(t, deviceId)).toEqual({ dirtyBytes: 3 << 20, flushSeconds: 2.5, observedAt: new Date('2026-12-07T23:00:00.000Z') });
  });
  it('says null for an estimate not measured yet', () => {
    expect(replicaCacheOf(telemetry([device(deviceId, { cacheDirtyBytes: 0, cacheFlushSeconds: null })]), deviceId)?.flushSeconds).toBeNull();
  });
  it('is null for a report without cache figures, a device not in the report, no telemetry or a malformed one', () => {
    expect(replicaCacheOf(telemetry([device(deviceId)]), deviceId)).toBeNull();
    expect(replicaCacheOf(telemetry([device(other, { cacheDirtyBytes: 5 })]), deviceId)).toBeNull();
    expect(replicaCacheOf(null, deviceId)).toBeNull();
    expect(replicaCacheOf({ devices: 'many' }, deviceId)).toBeNull();
  });
});
