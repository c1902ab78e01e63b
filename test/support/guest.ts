// The host tier's Linux guest: builds (or finds) the cached image with scripts/guest/build-image.sh, boots it under
// qemu (TCG) with a 9p share that carries a scenario in and its results out, and answers the guest's requests
// to the host (e.g. "stat the image now") while it runs. Every step is bounded; qemu is killed at the deadline.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { spawnTracked, stopChild } from '@tandem/testing';
import { REPO_ROOT } from './target';
import { findBinary } from './tools';

export const GUEST_CACHE = process.env.TANDEM_GUEST_CACHE ?? '/var/cache/tandem-guest';
const BUILD_SCRIPT = path.join(REPO_ROOT, 'scripts', 'guest', 'build-image.sh');
/** The guest's helpers (`check`, `ask_host`, ...), copied onto every share. */
const GUEST_LIB = path.join(REPO_ROOT, 'test', 'hosts', 'guest-lib.sh');
/** The guest's boot after the share is mounted (the image's own init only mounts the share and runs this). */
const GUEST_INIT = path.join(REPO_ROOT, 'scripts', 'guest', 'guest-init.sh');
/** Where the guest reaches the host's 127.0.0.1 through qemu's user networking. */
export const HOST_FROM_GUEST = '10.0.2.2';
export const GUEST_INITIATOR = 'iqn.2026-12.io.tandem.test:linux-guest';

export interface GuestVersions {
  recipe: string;
  suite: string;
  kernel: string;
  kernelPackage: string;
  openIscsi: string;
  multipathTools: string;
  fio: string;
  e2fsprogs: string;
  xfsprogs: string;
  sg3Utils: string;
}

export interface GuestImage {
  root: string;
  kernel: string;
  initrd: string;
  versions: GuestVersions;
  /** How long the build took here (0: the cache was current). */
  buildMs: number;
}

/**
 * The image, built if missing or stale (synchronously, so that a test file can decide at load time between its
 * tests and one skip saying why); or why it cannot be had.
 */
export function prepareGuestImage(timeoutMs = 30 * 60_000): GuestImage | { reason: string } {
  if (!findBinary('qemu-system-x86_64')) return { reason: 'qemu-system-x86_64 missing (Debian qemu-system-x86; scripts/setup.sh installs it for npm test)' };
  if (process.getuid?.() !== 0) return { reason: 'building and booting the guest needs root (debootstrap, chroot)' };
  if (!findBinary('debootstrap') && !fs.existsSync(path.join(GUEST_CACHE, 'stamp'))) return { reason: 'debootstrap missing and no cached guest image' };
  const started = Date.now();
  const r = spawnSync('bash', [BUILD_SCRIPT], { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', env: { ...process.env, TANDEM_GUEST_CACHE: GUEST_CACHE } });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status} ${r.signal ?? ''}`;
    return { reason: `guest image build failed (${why}): ${`${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ')}` };
  }
  const versions = JSON.parse(fs.readFileSync(path.join(GUEST_CACHE, 'versions.json'), 'utf8')) as GuestVersions;
  return {
    root: path.join(GUEST_CACHE, 'root.qcow2'),
    kernel: path.join(GUEST_CACHE, 'vmlinuz'),
    initrd: path.join(GUEST_CACHE, 'initrd.img'),
    versions,
    buildMs: /is current/.test(r.stdout) ? 0 : Date.now() - started,
  };
}

/** One line of the guest's results.jsonl, written by guest-lib.sh's `check` and `report`. */
export interface GuestResult {
  check: string;
  ok: boolean;
  exit?: number;
  seconds?: number;
  value?: string;
  output?: string;
}

export interface BootOptions {
  image: GuestImage;
  /** A fresh directory: the 9p share. */
  shareDir: string;
  /** The scenario, a POSIX shell script run as root in the guest with /host as its working directory. */
  scenario: string;
  /** Further files on the share (path relative to the share → content), e.g. `etc/multipath.conf`, `params.env`. */
  files?: Record<string, string>;
  /** qemu is killed after this; the result then says timedOut. */
  timeoutMs: number;
  /** The guest's requests to the host: `ask_host NAME ARG` in the scenario → handler(ARG) → the guest reads the answer. */
  handlers?: Record<string, (arg: string) => Promise<string> | string>;
  memoryMiB?: number;
}

export interface BootResult {
  /** The scenario's exit code, or null if it never finished. */
  scenarioExit: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Seconds from qemu's start to the scenario's first line (the guest's boot time). */
  bootSeconds: number | null;
  results: GuestResult[];
  consolePath: string;
  /** The end of the serial console, the init's log and the scenario's log, for failure messages. */
  diagnostics(): string;
}

const readOr = (file: string, fallback = ''): string => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

export async function bootGuest(options: BootOptions): Promise<BootResult> {
  const share = options.shareDir;
  fs.mkdirSync(path.join(share, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(share, 'requests'), { recursive: true });
  fs.copyFileSync(GUEST_LIB, path.join(share, 'guest-lib.sh'));
  fs.copyFileSync(GUEST_INIT, path.join(share, 'guest-init.sh'));
  fs.writeFileSync(path.join(share, 'scenario.sh'), options.scenario, { mode: 0o755 });
  for (const [rel, content] of Object.entries(options.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(share, rel)), { recursive: true });
    fs.writeFileSync(path.join(share, rel), content);
  }
  const consolePath = path.join(share, 'console.log');
  const args = [
    '-machine', 'accel=tcg', '-smp', '2', '-m', String(options.memoryMiB ?? 1024),
    '-nographic', '-no-reboot', '-monitor', 'none', '-serial', `file:${consolePath}`,
    '-kernel', options.image.kernel, '-initrd', options.image.initrd,
    '-append', 'console=ttyS0 root=/dev/vda rw rootfstype=ext4 init=/sbin/tandem-init net.ifnames=0 panic=-1 loglevel=4',
    // snapshot=on: writes go to a throw-away overlay, the cached image stays clean.
    '-drive', `file=${options.image.root},if=virtio,format=qcow2,snapshot=on`,
    '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0',
    '-virtfs', `local,path=${share},mount_tag=host,security_model=none,id=host`,
  ];
  const started = Date.now();
  const qemu = spawnTracked(findBinary('qemu-system-x86_64')!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let qemuOutput = '';
  for (const s of [qemu.stdout, qemu.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (qemuOutput = (qemuOutput + d).slice(-8192)));
  let timedOut = false;
  const exited = new Promise<void>((resolve) => qemu.once('exit', () => resolve()));
  const deadline = setTimeout(() => {
    timedOut = true;
    void stopChild(qemu, 1000);
  }, options.timeoutMs);
  let bootSeconds: number | null = null;
  const served = new Set<string>();
  // The guest asks by creating requests/N.NAME.req (content: the argument); the answer is requests/N.NAME.ans.
  const poll = setInterval(() => {
    if (bootSeconds === null && fs.existsSync(path.join(share, 'scenario.log'))) bootSeconds = (Date.now() - started) / 1000;
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(path.join(share, 'requests'));
    } catch {
      return;
    }
    for (const entry of entries) {
      const m = /^(\d+)\.([a-z0-9-]+)\.req$/.exec(entry);
      if (!m || served.has(entry)) continue;
      served.add(entry);
      const arg = readOr(path.join(share, 'requests', entry)).trim();
      const handler = options.handlers?.[m[2]];
      const answer = async () => (handler ? String(await handler(arg)) : `ERROR no handler for ${m[2]}`);
      void answer()
        .catch((err: Error) => `ERROR ${err.message}`)
        .then((text) => {
          const tmp = path.join(share, 'requests', `${m[1]}.${m[2]}.tmp`);
          fs.writeFileSync(tmp, `${text}\n`);
          fs.renameSync(tmp, path.join(share, 'requests', `${m[1]}.${m[2]}.ans`));
        });
    }
  }, 200);
  await exited;
  clearTimeout(deadline);
  clearInterval(poll);
  const exitText = readOr(path.join(share, 'scenario.exit')).trim();
  const results = readOr(path.join(share, 'results.jsonl'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as GuestResult;
      } catch {
        return { check: 'unparsable-result-line', ok: false, output: l };
      }
    });
  return {
    scenarioExit: exitText === '' ? null : Number(exitText),
    timedOut,
    durationMs: Date.now() - started,
    bootSeconds,
    results,
    consolePath,
    diagnostics: () =>
      [
        `qemu ${timedOut ? 'killed at the time limit' : 'exited'} after ${Math.round((Date.now() - started) / 1000)} s; ${qemuOutput.slice(-1000)}`,
        `--- console (last 3000 chars) ---\n${readOr(consolePath).slice(-3000)}`,
        `--- init.log ---\n${readOr(path.join(share, 'init.log')).slice(-2000)}`,
        `--- scenario.log (last 4000 chars) ---\n${readOr(path.join(share, 'scenario.log')).slice(-4000)}`,
      ].join('\n'),
  };
}

/**
 * The settings docs/hosts.md gives Linux hosts, so the guest runs exactly the guide: each block follows a marker
 * `<!-- guest-file: PATH -->` (PATH relative to the share, e.g. `etc/multipath.conf`) as a fenced code block.
 */
export function hostGuideFiles(guide = path.join(REPO_ROOT, 'docs', 'hosts.md')): Record<string, string> {
  const text = fs.readFileSync(guide, 'utf8');
  const files: Record<string, string> = {};
  const re = /<!-- guest-file: (\S+) -->\s*\n```[a-z]*\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) files[m[1]] = m[2];
  return files;
}
