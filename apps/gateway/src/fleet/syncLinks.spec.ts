/** StorageNode.syncLinks from a node's telemetry: per partner, fewest links up, most configured, the slowest live round trip. */
import { randomUUID } from 'crypto';
import { nodeTelemetrySchema, type NodeTelemetry } from '@tandem/contracts';
import { syncLinksOf } from './syncLinks';

const partnerB = randomUUID();
const partnerC = randomUUID();

function device(partners: { nodeId: string; linksUp: number; linksConfigured: number; rttMicros: number | null }[]): NodeTelemetry['devices'][number] {
  return {
    deviceId: randomUUID(),
    readIops: 0,
    writeIops: 0,
    readBytesPerSecond: 0,
    writeBytesPerSecond: 0,
    readLatencyMicros: 0,
    writeLatencyMicros: 0,
    queueDepth: 0,
    ha: { partners: partners.map((p) => ({ ...p, state: 'SYNCHRONIZED' })) },
  };
}

const telemetry = (devices: NodeTelemetry['devices']): NodeTelemetry =>
  nodeTelemetrySchema.parse({ nodeId: randomUUID(), sentAt: '2026-12-07T22:00:00.000Z', intervalMs: 1000, health: 'ok', usedBytes: 0, devices });

describe('syncLinksOf', () => {
  it('sums the HA devices by partner: fewest links up, most configured, slowest live round trip', () => {
    const links = syncLinksOf(
      telemetry([
        device([{ nodeId: partnerB, linksUp: 2, linksConfigured: 2, rttMicros: 180 }]),
        device([
          { nodeId: partnerB, linksUp: 1, linksConfigured: 2, rttMicros: 420 },
          { nodeId: partnerC, linksUp: 0, linksConfigured: 1, rttMicros: 999 },
        ]),
      ]),
    );
    const b = links.find((l) => l.partnerNodeId === partnerB);
    const c = links.find((l) => l.partnerNodeId === partnerC);
    expect(b).toEqual({ partnerNodeId: partnerB, linksUp: 1, linksConfigured: 2, rttMicros: 420, devices: 2, observedAt: new Date('2026-12-07T22:00:00.000Z') });
    // No link up: a round trip it reported for a dead link means nothing.
    expect(c).toMatchObject({ linksUp: 0, linksConfigured: 1, rttMicros: null, devices: 1 });
    expect(links).toHaveLength(2);
  });

  it('keeps null while nothing was measured, and has no links without HA devices or telemetry', () => {
    expect(syncLinksOf(telemetry([device([{ nodeId: partnerB, linksUp: 1, linksConfigured: 1, rttMicros: null }])]))[0].rttMicros).toBeNull();
    expect(syncLinksOf(telemetry([]))).toEqual([]);
    expect(syncLinksOf(null)).toEqual([]);
    expect(syncLinksOf({ nodeId: 'not telemetry' })).toEqual([]);
  });
});
