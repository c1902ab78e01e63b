// The Linux kernel initiator (open-iscsi in a Debian guest under qemu) against one real `tandem serve`: discovery,
// login, a FLAT 512e, an LSFS and a FLAT 4096 LUN through fio verify, ext4/xfs fill-fsck-compare, fstrim and
// blkdiscard reaching the store, sg_persist, and an online resize through a node agent. One boot for the group.
import * as fs from 'fs';
import * as path from 'path';
import { bootGuest, BootResult, GuestResult, GUEST_CACHE, GUEST_INITIATOR, HOST_FROM_GUEST, hostGuideFiles, prepareGuestImage } from '../support/guest';
import { makeTempDir, MiB, removeDir } from '../support/files';
import { RunningTarget, startTarget } from '../support/target';
import { skipWithReason } from '../support/tools';
import { AgentLun, startAgentLun } from './agentLun';

const IQN = 'iqn.2026-12.io.tandem:host-tier-single';
const LUN_BYTES = 320 * MiB; // mkfs.xfs refuses file systems under 300 MB; the LUNs are thin, so this costs nothing
const AGENT_BYTES = 64 * MiB;
const AGENT_GROWN = 96 * MiB;
const BOOT_LIMIT_MS = 25 * 60_000;

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
    let boot: BootResult;
    const seen = new Map<string, GuestResult>();
    const stores: Record<string, string> = {};

    beforeAll(async () => {
      dir = makeTempDir('tandem-host-single-');
      target = await startTarget({
        dir,
        targets: [{
          iqn: IQN,
          luns: [
            { lun: 0, size: LUN_BYTES, thin: true },
            { lun: 1, size: LUN_BYTES, store: 'lsfs', create: true, file: path.join(dir, 'lun1.lsfs') },
            { lun: 2, size: LUN_BYTES, sector: 4096, thin: true },
          ],
        }],
      });
      stores.flat512 = target.lunFile(0);
      stores.lsfs = target.lunFile(1);
      stores.flat4k = target.lunFile(2);
      agent = await startAgentLun(dir, AGENT_BYTES);
      const share = path.join(dir, 'share');
      fs.mkdirSync(share);
      const params = { HOST: HOST_FROM_GUEST, PORT: target.port, IQN, AGENT_PORT: agent.port, AGENT_IQN: agent.iqn, AGENT_NEW_SIZE: AGENT_GROWN };
      boot = await bootGuest({
        image,
        shareDir: share,
        scenario: fs.readFileSync(path.join(__dirname, 'linux-single.scenario.sh'), 'utf8'),
        files: {
          ...hostGuideFiles(),
          'etc/initiatorname.iscsi': `InitiatorName=${GUEST_INITIATOR}\n`,
          'params.env': Object.entries(params).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n',
        },
        timeoutMs: BOOT_LIMIT_MS,
        handlers: {
          allocated: (name) => String(allocatedBytes(stores[name])),
          resize: async (size) => agent!.resize(Number(size)),
        },
      });
      for (const r of boot.results) seen.set(r.check, r);
      // eslint-disable-next-line no-console
      console.log(`guest: build ${Math.round(image.buildMs / 1000)} s, boot to scenario ${boot.bootSeconds} s, whole run ${Math.round(boot.durationMs / 1000)} s\n` +
        boot.results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.check}${r.seconds !== undefined ? ` (${r.seconds} s)` : ''}${r.value ? `: ${r.value}` : ''}`).join('\n'));
      // Kept beside the cached image (outside the work tree) for docs/conformance.md's Linux section.
      fs.writeFileSync(path.join(GUEST_CACHE, 'results-linux-single.json'), JSON.stringify({ versions: image.versions, buildMs: image.buildMs, bootSeconds: boot.bootSeconds, durationMs: boot.durationMs, results: boot.results }, null, 2));
    }, BOOT_LIMIT_MS + 5 * 60_000);

    afterAll(async () => {
      await agent?.stop();
      await target?.stop();
      if (boot && boot.scenarioExit === 0 && !boot.results.some((r) => !r.ok)) removeDir(dir);
      // eslint-disable-next-line no-console
      else if (dir) console.warn(`host tier: the guest's share (console.log, init.log, scenario.log, logs/) is kept in ${path.join(dir, 'share')}`);
    });

    /** The guest's outcome of one check, asserted, with what the guest saw in the failure message. */
    const expectOk = (check: string) => {
      const r = seen.get(check);
      if (!r) throw new Error(`the guest never reported ${check} (scenario exit ${boot.scenarioExit}, timed out ${boot.timedOut})\n${boot.diagnostics()}`);
      if (!r.ok) throw new Error(`${check} failed in the guest: exit ${r.exit ?? '-'} ${r.value ?? ''}\n${r.output ?? ''}\ntarget log:\n${target?.log().slice(-3000)}`);
      return r;
    };

    it('boots, runs the whole scenario and powers off within the time limit', () => {
      if (boot.timedOut || boot.scenarioExit !== 0) throw new Error(`scenario exit ${boot.scenarioExit}, timed out ${boot.timedOut}\n${boot.diagnostics()}`);
      expect(expectOk('kernel').value).toBe(image.versions.kernel);
      // The guest runs the host guide's iscsid.conf settings (docs/hosts.md).
      expect(expectOk('iscsid-conf').value).toContain('node.session.timeo.replacement_timeout = 15');
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
        // A FLAT image punches holes for UNMAP; LSFS records the unmap in its log and frees space by GC later.
        if (name !== 'lsfs') {
          expect(afterTrim).toBeLessThan(before - 16 * MiB);
          expect(afterDiscard).toBeLessThanOrEqual(afterTrim);
        }
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
