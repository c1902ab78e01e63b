// QEMU's iscsi block driver (Debian qemu-block-extra) as a bulk initiator: 256 MiB of random data copied into a LUN
// with qemu-img convert, copied back out and compared, for 512- and 4096-byte logical blocks.
import * as path from 'path';
import { MiB, createRandomImage, hashRange, makeTempDir, removeDir } from '../support/files';
import { describeResult, run } from '@tandem/testing';
import { RunningTarget, startTarget, targetBinaries } from '../support/target';
import { describeWithTools } from '../support/tools';

const IQN = 'iqn.2026-11.io.tandem:qemu';
const SIZE = 256 * MiB;
const STEP_TIMEOUT = 180000;

describeWithTools(['qemu-img', ...targetBinaries()], 'qemu-img through the iscsi driver', () => {
  let dir: string;
  let src: string;
  let target: RunningTarget | undefined;

  beforeAll(async () => {
    dir = makeTempDir();
    src = createRandomImage(path.join(dir, 'src.img'), SIZE, 'qemu-src');
    target = await startTarget({
      dir,
      targets: [{ iqn: IQN, luns: [{ lun: 0, size: SIZE }, { lun: 1, size: SIZE, sector: 4096 }] }],
    });
  });

  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  test.each([
    [0, 512],
    [1, 4096],
  ])('LUN %i (%i-byte blocks): convert in, convert out, compare identical', async (lun, _sector) => {
    const url = target!.url(lun);
    const qemuImg = async (args: string[]) => {
      const r = await run('qemu-img', args, { timeoutMs: STEP_TIMEOUT });
      expect({ code: r.code, timedOut: r.timedOut, out: describeResult(`qemu-img ${args.join(' ')}`, r) }).toMatchObject({ code: 0, timedOut: false });
      return r;
    };
    await qemuImg(['convert', '-n', '-f', 'raw', '-O', 'raw', src, url]);
    const out = path.join(dir, `out-${lun}.img`);
    await qemuImg(['convert', '-f', 'raw', '-O', 'raw', url, out]);
    const cmp = await qemuImg(['compare', '-f', 'raw', '-F', 'raw', src, out]);
    expect(cmp.stdout).toContain('Images are identical');
    // The FLAT store keeps the LUN byte for byte in its image file.
    expect(hashRange(target!.lunFile(lun), 0, SIZE)).toBe(hashRange(src, 0, SIZE));
  });
});
