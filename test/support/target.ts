// Starts the target under test as a child process and stops it. TANDEM_TEST_TARGET=tgt runs the same tests against
// Debian's tgtd instead (to check the tests themselves); its disk LUNs are shifted by one, since tgt's LUN 0 is its
// controller, and url() hides that.
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createSparseImage, formatSize } from './files';
import { REPO_ROOT, TANDEM_BIN, freePort, run, spawnTracked, stopChild } from '@tandem/testing';
import { findBinary } from './tools';

// The repository's paths live in the kit; re-exported here for the many tests that import them with a target.
export { REPO_ROOT, TANDEM_BIN };
export const HOST = '127.0.0.1';

export type TargetKind = 'tandem' | 'tgt';

export interface LunSpec {
  lun: number;
  size: number;
  sector?: 512 | 4096;
  /** Physical block size reported (Tandem only; default 4096). */
  physical?: 512 | 4096;
  /** Backing file; default <dir>/t<target>-lun<lun>.img, created sparse by the helper unless `create` is set. */
  file?: string;
  /** Let the target create the file (Tandem's `,create`); the helper then does not pre-create it. */
  create?: boolean;
  thin?: boolean;
  /** Store kind (Tandem only): `flat` (default) or `lsfs` (then `file` is the store's directory). */
  store?: 'flat' | 'lsfs';
  /** RAM cache (Tandem only), as `tandem serve` takes it: e.g. `wb:256MiB`. */
  cache?: string;
}

export interface ChapSpec {
  user: string;
  secret: string;
  mutualUser?: string;
  mutualSecret?: string;
}

export interface TargetSpec {
  iqn: string;
  luns: LunSpec[];
  chap?: ChapSpec;
}

export interface StartOptions {
  dir: string;
  targets: TargetSpec[];
  kind?: TargetKind;
  port?: number;
  readyTimeoutMs?: number;
  /** Further `tandem serve` flags (Tandem only). */
  extraArgs?: string[];
}

export interface UrlOptions {
  iqn?: string;
  user?: string;
  secret?: string;
  params?: Record<string, string>;
}

export interface RunningTarget {
  kind: TargetKind;
  host: string;
  port: number;
  pid: number;
  targets: TargetSpec[];
  /** iscsi://[user%secret@]127.0.0.1:port/iqn/lun[?params] for a LUN as the spec numbers it. */
  url(lun: number, options?: UrlOptions): string;
  portalUrl(options?: Pick<UrlOptions, 'user' | 'secret'>): string;
  lunFile(lun: number, iqn?: string): string;
  /** The LUN number a SCSI initiator sees (differs from the spec on tgt). */
  wireLun(lun: number): number;
  isAlive(): boolean;
  /** "running", or how the process ended (exit code / signal). */
  exitStatus(): string;
  log(): string;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }>;
}

export function targetKind(): TargetKind {
  return process.env.TANDEM_TEST_TARGET === 'tgt' ? 'tgt' : 'tandem';
}

/** Binaries the chosen target needs, for describeWithTools. */
export function targetBinaries(kind: TargetKind = targetKind()): string[] {
  return kind === 'tgt' ? ['tgtd', 'tgtadm'] : [];
}

export async function startTarget(options: StartOptions): Promise<RunningTarget> {
  const kind = options.kind ?? targetKind();
  const port = options.port ?? (await freePort(HOST));
  const targets = options.targets.map((t, ti) => ({
    ...t,
    luns: t.luns.map((l) => ({ ...l, file: l.file ?? path.join(options.dir, `t${ti}-lun${l.lun}.img`) })),
  }));
  for (const t of targets) {
    for (const l of t.luns) if (!l.create && !fs.existsSync(l.file!)) createSparseImage(l.file!, l.size);
  }
  return kind === 'tgt'
    ? startTgt(options.dir, port, targets, options.readyTimeoutMs ?? 15000)
    : startTandem(options.dir, port, targets, options.readyTimeoutMs ?? 20000, options.extraArgs ?? []);
}

function baseHandle(kind: TargetKind, port: number, targets: TargetSpec[], child: ChildProcess, logs: () => string) {
  const wireLun = (lun: number) => (kind === 'tgt' ? lun + 1 : lun);
  const auth = (o?: { user?: string; secret?: string }) =>
    o?.user ? `${encodeURIComponent(o.user)}%${encodeURIComponent(o.secret ?? '')}@` : '';
  return {
    kind,
    host: HOST,
    port,
    pid: child.pid ?? -1,
    targets,
    wireLun,
    url(lun: number, o: UrlOptions = {}): string {
      const iqn = o.iqn ?? targets[0].iqn;
      const query = o.params && Object.keys(o.params).length ? `?${new URLSearchParams(o.params).toString()}` : '';
      return `iscsi://${auth(o)}${HOST}:${port}/${iqn}/${wireLun(lun)}${query}`;
    },
    portalUrl(o?: { user?: string; secret?: string }): string {
      return `iscsi://${auth(o)}${HOST}:${port}`;
    },
    lunFile(lun: number, iqn?: string): string {
      const t = targets.find((x) => x.iqn === (iqn ?? targets[0].iqn));
      const l = t?.luns.find((x) => x.lun === lun);
      if (!l?.file) throw new Error(`no LUN ${lun} on ${iqn ?? targets[0].iqn}`);
      return l.file;
    },
    isAlive: () => child.exitCode === null && child.signalCode === null,
    exitStatus: () => (child.exitCode === null && child.signalCode === null ? 'running' : `exited code ${child.exitCode} signal ${child.signalCode}`),
    log: logs,
  };
}

/** Keeps the last ~64 KiB of a stream for error messages. */
function capture(child: ChildProcess): { text: () => string; onLine: (fn: (line: string) => void) => void } {
  let text = '';
  let partial = '';
  const listeners: Array<(line: string) => void> = [];
  const feed = (chunk: string, isStdout: boolean) => {
    text = (text + chunk).slice(-65536);
    if (!isStdout) return;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) for (const fn of listeners) fn(line);
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => feed(d, true));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => feed(d, false));
  return { text: () => text, onLine: (fn) => listeners.push(fn) };
}

export function isReadyLine(line: string): boolean {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown };
    if (typeof parsed.msg === 'string') return /\bready\b/i.test(parsed.msg);
  } catch {
    // not JSON: fall through to a plain match
  }
  return /\bready\b/i.test(line);
}

export function tandemArgs(port: number, targets: TargetSpec[]): string[] {
  const args = ['serve', '--listen', `${HOST}:${port}`];
  for (const t of targets) {
    args.push('--target', t.iqn);
    for (const l of t.luns) {
      let spec = `${l.lun}=${l.store ?? 'flat'}:${l.file},size=${formatSize(l.size)}`;
      if (l.sector && l.sector !== 512) spec += `,sector=${l.sector}`;
      if (l.physical) spec += `,physical=${l.physical}`;
      if (l.create) spec += ',create';
      if (l.thin && l.store !== 'lsfs') spec += ',thin';
      if (l.cache) spec += `,cache=${l.cache}`;
      args.push('--lun', spec);
    }
    if (t.chap) {
      const c = t.chap;
      args.push('--chap', [c.user, c.secret, ...(c.mutualUser ? [c.mutualUser, c.mutualSecret ?? ''] : [])].join(':'));
    }
  }
  return args;
}

async function startTandem(dir: string, port: number, targets: TargetSpec[], readyTimeoutMs: number, extraArgs: string[]): Promise<RunningTarget> {
  if (!fs.existsSync(TANDEM_BIN)) {
    throw new Error(`Tandem CLI not built (${TANDEM_BIN} missing): run \`npm run build\`, or set TANDEM_TEST_TARGET=tgt`);
  }
  const args = [TANDEM_BIN, ...tandemArgs(port, targets), ...extraArgs];
  const child = spawnTracked(process.execPath, args, { cwd: dir, env: { ...process.env, NODE_ENV: 'test' } });
  const out = capture(child);
  const handle = { ...baseHandle('tandem', port, targets, child, out.text), stop: () => stopChild(child, 6000) };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Tandem did not log "ready" within ${readyTimeoutMs} ms\ncommand: node ${args.join(' ')}\n${out.text()}`));
    }, readyTimeoutMs);
    out.onLine((line) => {
      if (isReadyLine(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Tandem exited (code ${code}, signal ${signal}) before "ready"\ncommand: node ${args.join(' ')}\n${out.text()}`));
    });
  });
  return handle;
}

async function startTgt(dir: string, port: number, targets: TargetSpec[], readyTimeoutMs: number): Promise<RunningTarget> {
  const tgtd = findBinary('tgtd');
  const tgtadm = findBinary('tgtadm');
  if (!tgtd || !tgtadm) throw new Error('tgtd/tgtadm not installed (Debian package tgt)');
  const control = String(1000 + (port % 30000)); // tgtd's management socket suffix (≤ 32767), derived from the free port
  const child = spawnTracked(tgtd, ['-f', '-C', control, '--iscsi', `portal=${HOST}:${port}`], { cwd: dir });
  const out = capture(child);
  const adm = async (...a: string[]) => {
    const r = await run(tgtadm, ['-C', control, '--lld', 'iscsi', ...a], { timeoutMs: 10000 });
    if (r.code !== 0) throw new Error(`tgtadm ${a.join(' ')} failed: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const r = await run(tgtadm, ['-C', control, '--op', 'show', '--mode', 'sys'], { timeoutMs: 5000 });
    if (r.code === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tgtd did not come up\n${out.text()}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  try {
    for (const [i, t] of targets.entries()) {
      const tid = String(i + 1);
      await adm('--op', 'new', '--mode', 'target', '--tid', tid, '-T', t.iqn);
      for (const l of t.luns) {
        const extra = l.sector && l.sector !== 512 ? ['--blocksize', String(l.sector)] : [];
        await adm('--op', 'new', '--mode', 'logicalunit', '--tid', tid, '--lun', String(l.lun + 1), '-b', l.file!, ...extra);
      }
      await adm('--op', 'bind', '--mode', 'target', '--tid', tid, '-I', 'ALL');
      // tgt answers "None" to a CRC32C-only offer unless digests are enabled per target.
      for (const key of ['HeaderDigest', 'DataDigest']) await adm('--op', 'update', '--mode', 'target', '--tid', tid, '--name', key, '--value', 'None,CRC32C');
      if (t.chap) {
        await adm('--op', 'new', '--mode', 'account', '--user', t.chap.user, '--password', t.chap.secret);
        await adm('--op', 'bind', '--mode', 'account', '--tid', tid, '--user', t.chap.user);
        if (t.chap.mutualUser) {
          await adm('--op', 'new', '--mode', 'account', '--user', t.chap.mutualUser, '--password', t.chap.mutualSecret ?? '');
          await adm('--op', 'bind', '--mode', 'account', '--tid', tid, '--user', t.chap.mutualUser, '--outgoing');
        }
      }
    }
  } catch (err) {
    await stopChild(child, 2000);
    throw err;
  }
  return { ...baseHandle('tgt', port, targets, child, out.text), stop: () => stopChild(child, 1500) }; // tgtd -f may ignore SIGTERM: SIGKILL follows
}
