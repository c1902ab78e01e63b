// The Linux kernel initiator (open-iscsi in a Debian guest under qemu) against one real `tandem serve`: discovery,
// login, a FLAT 512e, an LSFS and a FLAT 4096 LUN through fio verify, ext4/xfs fill-fsck-compare, fstrim and
// blkdiscard reaching the store, sg_persist, and an online resize through a node agent. One boot for the group.
import * as fs from 'fs';
import * as path from 'path';
import { LsfsStore } from '@tandem/storage';
import { prepareGuestImage } from '../support/guest';
import { makeTempDir, MiB, removeDir } from '../support/files';
import { RunningTarget, startTarget } from '../support/target';
import { skipWithReason } from '../support/tools';
import { AgentLun, startAgentLun } from './agentLun';
import { groupPassed, GroupRun, runScenarioGroup } from './scenarioGroup';
import { until } from '@tandem/testing';

const IQN = 'iqn.2026-12.io.tandem:host-tier-single';
const LUN_BYTES = 320 * MiB; // mkfs.xfs refuses file systems under 300 MB; the LUNs are thin, so this costs nothing
const AGENT_BYTES = 64 * MiB;
const AGENT_GROWN = 96 * MiB;
const BOOT_LIMIT_MS = 25 * 60_000;
/**
 * The LSFS LUN's segment size. Its garbage collection gives space back a segment at a time (a segment goes once empty,
 * or is copied out once under half live): with the default 64 MiB segments the tier's tens of MiB all share two
 * segments with live file-system metadata, and nothing an fstrim frees comes back. Segments scaled to the data do.
 */
const LSFS_SEGMENT_BYTES = 4 * MiB;

/** Bytes the store really holds on the host: a FLAT image's allocated blocks, or an LSFS directory's. */
function allocatedBytes(file: string): number {
  const st = fs.statSync(file);
  if (!st.isDirectory()) return st.blocks * 512;
  return fs.readdirSync(file).reduce((sum, f) => sum + allocatedBytes(path.join(file, f)), 0);
}

const image = prepareGuestImage();

if ('reason' in image) {
  describe('Linux kernel initiator, single target', () => skipWithReason('Linux kernel initiator, single target', image.reason));
} else {
  describe(`Linux kernel initiator ${image.versions.kernel}, single target`, () => {
    let dir: string;
    let target: RunningTarget | undefined;
    let agent: AgentLun | undefined;
    let run: GroupRun;
    const stores: Record<string, string> = {};

    beforeAll(async () => {
      dir = makeTempDir('tandem-host-single-');
      await (await LsfsStore.open({ path: path.join(dir, 'lun1.lsfs'), sizeBytes: LUN_BYTES, create: true, segmentBytes: LSFS_SEGMENT_BYTES })).close();
      target = await startTarget({
        dir,
        targets: [{
          iqn: IQN,
          luns: [
            { lun: 0, size: LUN_BYTES, thin: true },
            { lun: 1, size: LUN_BYTES, store: 'lsfs', file: path.join(dir, 'lun1.lsfs') },
            { lun: 2, size: LUN_BYTES, sector: 4096, thin: true },
          ],
        }],
      });
      stores.flat512 = target.lunFile(0);
      stores.lsfs = target.lunFile(1);
      stores.flat4k = target.lunFile(2);
      agent = await startAgentLun(dir, AGENT_BYTES);
      run = await runScenarioGroup({
        name: 'linux-single',
        image,
        dir,
        scenarioFile: 'linux-single.scenario.sh',
        params: { PORT: target.port, IQN, AGENT_PORT: agent.port, AGENT_IQN: agent.iqn, AGENT_NEW_SIZE: AGENT_GROWN },
        timeoutMs: BOOT_LIMIT_MS,
        handlers: {
          allocated: (name) => String(allocatedBytes(stores[name])),
          // `NAME BYTES`: the store's allocation once it is at most BYTES, or after a minute as it is. FLAT punches
          // holes at once; LSFS logs the unmaps and its garbage collection (a pass a second) deletes emptied segments.
          'allocated-below': async (arg) => {
            const [name, bytes] = arg.split(' ');
            await until(() => allocatedBytes(stores[name]) <= Number(bytes), `${name} allocation at most ${bytes}`, 60_000, 250).catch(() => undefined);
            return String(allocatedBytes(stores[name]));
          },
          resize: async (size) => agent!.resize(Number(size)),
        },
        targetLogs: () => `${target?.log() ?? ''}\n${agent?.log() ?? ''}`,
      });
    }, BOOT_LIMIT_MS + 5 * 60_000);

    afterAll(async () => {
      await agent?.stop();
      await target?.stop();
      if (groupPassed(run)) removeDir(dir);
      else if (dir) console.warn(`host tier: the guest's share (console.log, init.log, scenario.log, logs/) is kept in ${path.join(dir, 'share')}`);
    });

    const expectOk = (check: string) => run.expectOk(check);

    it('boots, runs the whole scenario and powers off within the time limit', () => {
      run.expectCompleted();
      expect(expectOk('kernel').value).toBe(image.versions.kernel);
      // The guest runs the host guide's iscsid.conf settings (docs/hosts.md).
      expect(expectOk('iscsid-conf').value).toContain('node.session.timeo.replacement_timeout = 15');
      expect(expectOk('session-recovery-tmo').value?.trim()).toBe('15');
    });

    it('discovers the target through SendTargets and logs in from the kernel initiator', () => {
      expectOk('main-discovery');
      expect(expectOk('main-discovery-lists-target').value).toMatch(new RegExp(`127\\.0\\.0\\.1:${target!.port},1 ${IQN.replace(/\./g, '\\.')}`));
      expectOk('main-node-record');
      expectOk('main-login');
      expect(expectOk('disks-found').value).toMatch(/lun0=\/dev\/sd\w+ lun1=\/dev\/sd\w+ lun2=\/dev\/sd\w+/);
      expect(expectOk('inquiry').output).toMatch(/TANDEM/);
      expectOk('alua-report-target-port-groups');
    });

    describe.each([
      ['flat512', 'FLAT, 512e', 'ext4'],
      ['lsfs', 'LSFS, 512e', 'xfs'],
      ['flat4k', 'FLAT, 4096-byte sectors', 'xfs'],
    ])('%s (%s)', (name, _what, fsType) => {
      it('reports its sector size and offers discard', () => {
        expectOk(`${name}-sector-size`);
        expectOk(`${name}-discard-supported`);
      });

      it('passes fio random writes with crc32c verify', () => {
        expectOk(`${name}-fio-verify`);
      });

      it(`keeps ${fsType}: filled, unmounted, fsck clean, remounted with every checksum equal`, () => {
        for (const step of [`mkfs-${fsType}`, 'mount', 'fill', 'umount', `fsck-${fsType}`, 'remount', 'checksums-match']) expectOk(`${name}-${step}`);
      });

      it('passes fstrim and blkdiscard through to the store, and reads zeros after', () => {
        expectOk(`${name}-fstrim`);
        expectOk(`${name}-blkdiscard`);
        expectOk(`${name}-reads-zero-after-discard`);
        const m = /before=(\d+) after_fstrim=(\d+) after_blkdiscard=(\d+)/.exec(expectOk(`${name}-allocated`).value ?? '');
        expect(m).not.toBeNull();
        const [before, afterTrim, afterDiscard] = m!.slice(1).map(Number);
        expect(before).toBeGreaterThan(24 * MiB);
        // The 24 MiB of files deleted and trimmed leave the store: a FLAT image punches holes for UNMAP; LSFS logs
        // the unmaps and its garbage collection deletes the segments they emptied (the guest waits for it, bounded).
        expect(afterTrim).toBeLessThan(before - 16 * MiB);
        // blkdiscard unmaps everything: a FLAT image keeps no block, LSFS its open segment (4 MiB) and metadata.
        expect(afterDiscard).toBeLessThanOrEqual(16 * MiB);
        if (name !== 'lsfs') expect(afterDiscard).toBe(0);
      });
    });

    it('takes persistent reservations from sg_persist: register, reserve, read, release, unregister', () => {
      for (const step of ['register', 'read-keys', 'reserve', 'read-reservation', 'write-by-holder', 'release', 'no-reservation', 'unregister']) expectOk(`pr-${step}`);
    });

    it('shows an online resize after iscsiadm -m session -R', () => {
      expectOk('agent-login');
      expectOk('resize-rescan');
      expect(expectOk('resize-seen').value).toMatch(new RegExp(`before=${AGENT_BYTES} .*after_rescan=${AGENT_GROWN}`));
      expectOk('resize-read-new-end');
    });

    it('logs out cleanly with no I/O error in the kernel log', () => {
      expectOk('logout');
      expectOk('kernel-log-clean');
    });
  });
}
