import { randomUUID } from 'crypto';
import { ContractViolation } from './contractViolation';
import { parseCommand, parseEvent, tandemCommands, tandemContracts, tandemEvents } from './catalog';
import { commandMessageSchema, commandReplySchema, eventMetadataSchema } from './envelope';
import { nodeTelemetrySchema } from './telemetry.contracts';

const id = () => randomUUID();

describe('Tandem catalog', () => {
  it('declares the events and commands of issue 4 with unique subjects', () => {
    expect(tandemContracts.eventTypes()).toEqual(
      expect.arrayContaining([
        'SiteCreated', 'SiteRenamed', 'SiteDeleted', 'ClusterCreated', 'ClusterRenamed', 'ClusterDeleted', 'NodeRegistered', 'NodeAddedToCluster',
        'NodeRemovedFromCluster', 'NodeMaintenanceEntered', 'NodeMaintenanceExited', 'DeviceCreated', 'DeviceResized', 'DeviceDeleted',
      ]),
    );
    expect(new Set(tandemEvents.map((e) => e.subject)).size).toBe(tandemEvents.length);
    expect(new Set(tandemCommands.map((c) => c.subject)).size).toBe(tandemCommands.length);
    expect(tandemCommands.map((c) => c.subject)).toEqual(
      expect.arrayContaining(['tandem.cmd.site.create', 'tandem.cmd.cluster.rename', 'tandem.cmd.node.register', 'tandem.cmd.node.add-to-cluster', 'tandem.cmd.device.resize', 'tandem.cmd.node.exit-maintenance']),
    );
  });

  it('applies command defaults (sector size, store kind, cache mode, HA strategy)', () => {
    const device = parseCommand('CreateDevice', { clusterId: id(), name: 'db-01', sizeBytes: 1 << 30, replicas: [{ nodeId: id(), priority: 1 }] });
    expect(device).toMatchObject({ sectorSize: 512, storeKind: 'FLAT', cacheMode: 'write-through' });
    expect(parseCommand('CreateCluster', { siteId: id(), name: 'c1' }).haStrategy).toBe('heartbeat');
  });

  it('refuses a bad device with every problem listed', () => {
    const nodeId = id();
    try {
      parseCommand('CreateDevice', { clusterId: 'nope', name: ' bad', sizeBytes: 1000, sectorSize: 4096, replicas: [{ nodeId, priority: 1 }, { nodeId, priority: 2 }] });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ContractViolation);
      const paths = (error as ContractViolation).problems.map((p) => p.path);
      expect(paths).toEqual(expect.arrayContaining(['clusterId', 'name', 'replicas.1.nodeId']));
    }
    // sizes must be whole sectors (checked once the object itself is valid)
    expect(() => parseCommand('CreateDevice', { clusterId: id(), name: 'd', sizeBytes: 1000, sectorSize: 4096, replicas: [{ nodeId, priority: 1 }] })).toThrow(
      /sizeBytes: must be a multiple of the sector size \(4096\)/,
    );
  });

  it('caps replicas at 3 and names at 64 characters', () => {
    const replicas = [1, 2, 3, 4].map((priority) => ({ nodeId: id(), priority }));
    expect(() => parseCommand('CreateDevice', { clusterId: id(), name: 'x'.repeat(65), sizeBytes: 4096, replicas })).toThrow(/name: must be at most 64 characters; replicas: a device has at most 3 replicas/);
  });

  it('validates a node registration including portals and versions', () => {
    const good = { nodeId: id(), name: 'node-a', version: '0.1.0', build: 'abc123', portals: [{ host: '127.0.0.11' }], capacityBytes: 2 ** 40 };
    expect(parseEvent('NodeRegistered', 1, good)).toMatchObject({ portals: [{ host: '127.0.0.11', port: 3260 }], syncAddresses: [] });
    expect(() => parseEvent('NodeRegistered', 1, { ...good, version: 'latest', portals: [] })).toThrow(/2 problems/);
  });

  it('validates metadata, command messages, replies and telemetry', () => {
    expect(eventMetadataSchema.parse({ correlationId: id(), actor: 'user:admin', traceId: 'x' })).toMatchObject({ traceId: 'x' });
    expect(eventMetadataSchema.safeParse({ correlationId: id(), actor: 'admin' }).success).toBe(false);
    expect(commandMessageSchema.safeParse({ commandId: id(), type: 'CreateSite', schemaVersion: 1, payload: {}, metadata: { actor: 'system:cli' } }).success).toBe(true);
    expect(commandReplySchema.safeParse({ ok: false, error: { code: 'CONFLICT', message: 'stream moved' } }).success).toBe(true);
    expect(commandReplySchema.safeParse({ ok: false, error: { code: 'TEAPOT', message: '' } }).success).toBe(false);
    expect(
      nodeTelemetrySchema.safeParse({ nodeId: id(), sentAt: new Date().toISOString(), intervalMs: 1000, health: 'ok', usedBytes: 0, devices: [] }).success,
    ).toBe(true);
  });
});
