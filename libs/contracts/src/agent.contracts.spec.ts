import { agentCommandReplySchema, agentCommandSchemas, agentReportSchema, desiredDevicesReplySchema } from './agent.contracts';

const deviceId = '5f0e7c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b';
const nodeId = '0b7c6f9e-4a43-4d55-9b8e-0e2a1c3f5d71';
const commandId = 'a3c1e2d4-1111-4222-8333-944455566677';

describe('agent contracts', () => {
  it('fills device defaults and refuses sizes that are not whole sectors', () => {
    const cmd = agentCommandSchemas['create-device'].parse({ commandId, device: { deviceId, name: 'db1', sizeBytes: 1 << 20 } });
    expect(cmd.device).toMatchObject({ sectorSize: 512, storeKind: 'FLAT', cacheMode: 'write-through' });
    expect(agentCommandSchemas['create-device'].safeParse({ commandId, device: { deviceId, name: 'db1', sizeBytes: 1000, sectorSize: 4096 } }).success).toBe(false);
    expect(agentCommandSchemas['delete-device'].parse({ commandId, deviceId }).destroyData).toBe(false);
    expect(desiredDevicesReplySchema.safeParse({ nodeId, devices: [{ deviceId, name: 'x', sizeBytes: 4096 }] }).success).toBe(true);
  });

  it('validates reports by type and replies by outcome', () => {
    const base = { reportId: commandId, nodeId, sequence: 1, occurredAt: new Date().toISOString() };
    expect(agentReportSchema.parse({ ...base, type: 'LunResized', data: { deviceId, targetName: 'iqn.x', lun: 0, sizeBytes: 2, previousSizeBytes: 1 } }).type).toBe('LunResized');
    expect(agentReportSchema.safeParse({ ...base, type: 'LunResized', data: { deviceId } }).success).toBe(false);
    expect(agentReportSchema.safeParse({ ...base, type: 'Nope', data: {} }).success).toBe(false);
    expect(agentCommandReplySchema.parse({ ok: true, commandId, nodeId, changes: [{ deviceId, outcome: 'created', lun: 0 }] }).ok).toBe(true);
  });
});
