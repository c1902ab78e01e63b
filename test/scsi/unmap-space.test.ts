// UNMAP gives space back: data written through QEMU, discarded through QEMU (UNMAP on the wire), and the image's
// allocated blocks (stat) shrink; the discarded range reads back as zeros.
import * as fs from 'fs';
import { MiB, makeTempDir, removeDir } from '../support/files';
import { run } from '@tandem/testing';
import { RunningTarget, startTarget } from '../support/target';
import { describeWithTools } from '../support/tools';

const IQN = 'iqn.2026-11.io.tandem:unmap-space';
const allocated = (file: string) => fs.statSync(file).blocks * 512;

describeWithTools(['qemu-io'], 'UNMAP returns space', () => {
  let dir: string;
  let target: RunningTarget;

  beforeAll(async () => {
    dir = makeTempDir();
    target = await startTarget({ dir, targets: [{ iqn: IQN, luns: [{ lun: 0, size: 64 * MiB, create: true, thin: true }] }] });
  });
  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  it('shrinks the allocated blocks of a thin image and reads zeros afterwards', async () => {
    const url = target.url(0);
    const file = target.lunFile(0);
    const w = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0xcd 0 32M', url], { timeoutMs: 60000 });
    expect(w.code).toBe(0);
    const before = allocated(file);
    expect(before).toBeGreaterThanOrEqual(32 * MiB);

    const d = await run('qemu-io', ['-f', 'raw', '-c', 'discard 0 24M', url], { timeoutMs: 60000 });
    expect(d.code).toBe(0);
    const after = allocated(file);
    expect(before - after).toBeGreaterThanOrEqual(24 * MiB);

    const r = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0 0 24M', '-c', 'read -P 0xcd 24M 8M', url], { timeoutMs: 60000 });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/Pattern verification failed/);
  });
});
