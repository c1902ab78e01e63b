import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FileOutbox, OUTBOX_FILE } from './fileOutbox';

const nodeId = '0b7c6f9e-4a43-4d55-9b8e-0e2a1c3f5d71';
const deviceId = '5f0e7c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b';

describe('FileOutbox', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-outbox-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const health = (h: 'ok' | 'degraded') => ({ type: 'NodeHealthChanged' as const, data: { health: h } });

  it('numbers reports in order, keeps them across reopen, forgets them only after an ack', async () => {
    const a = await FileOutbox.open(dir, nodeId);
    const r1 = await a.append(health('ok'));
    const r2 = await a.append({ type: 'LunCreated', data: { deviceId, targetName: 'iqn.x', lun: 0, sizeBytes: 4096, sectorSize: 512 } });
    expect([r1.sequence, r2.sequence]).toEqual([1, 2]);
    const b = await FileOutbox.open(dir, nodeId);
    expect(b.pending().map((r) => r.reportId)).toEqual([r1.reportId, r2.reportId]);
    await b.ack(1);
    const c = await FileOutbox.open(dir, nodeId);
    expect(c.pending().map((r) => r.sequence)).toEqual([2]);
    await c.ack(2);
    expect(fs.readFileSync(path.join(dir, OUTBOX_FILE), 'utf8')).toBe('');
    const d = await FileOutbox.open(dir, nodeId);
    expect(d.pending()).toEqual([]);
    expect((await d.append(health('degraded'))).sequence).toBe(3);
  });

  it('cuts off a torn last line left by a crash mid-append', async () => {
    const a = await FileOutbox.open(dir, nodeId);
    await a.append(health('ok'));
    fs.appendFileSync(path.join(dir, OUTBOX_FILE), '{"reportId":"tor');
    const b = await FileOutbox.open(dir, nodeId);
    expect(b.pending()).toHaveLength(1);
    expect((await b.append(health('degraded'))).sequence).toBe(2);
    expect((await FileOutbox.open(dir, nodeId)).pending().map((r) => r.sequence)).toEqual([1, 2]);
  });
});
