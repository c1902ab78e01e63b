// The two targets `npm run bench` compares, started on loopback: `tandem serve` and Debian's tgtd, each on a FLAT
// image file of its own; both are child processes whose pid the CPU sampler reads.
import * as fs from 'fs';
import { spawnSync, type ChildProcess } from 'child_process';
import { spawnTracked, TANDEM_BIN, until } from '@tandem/testing';
import { findBinary } from '../support/tools';

export const HOST = '127.0.0.1';
export const TANDEM_IQN = 'iqn.2026-11.io.tandem:bench';
export const TGT_IQN = 'iqn.2026-11.io.tandem:bench-tgt';

export interface BenchTarget {
  child: ChildProcess;
  pid: number;
  url: string;
}

/** A file of `bytes`, its blocks allocated so neither target reads holes (sparse where fallocate is refused). */
export function makeImage(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, bytes);
  fs.closeSync(fd);
  spawnSync('fallocate', ['-l', String(bytes), file], { stdio: 'ignore' });
}

export async function startTandem(port: number, file: string, bytes: number): Promise<BenchTarget> {
  if (!fs.existsSync(TANDEM_BIN)) throw new Error(`${TANDEM_BIN} missing: run npm run build`);
  const args = [TANDEM_BIN, 'serve', '--listen', `${HOST}:${port}`, '--target', TANDEM_IQN, '--lun', `0=flat:${file},size=${bytes / 1024 ** 3}GiB`];
  const child = spawnTracked(process.execPath, args);
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Tandem not ready in 20 s\n${log}`)), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      log = (log + d).slice(-8192);
      if (/"msg":"ready"/.test(d)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-8192)));
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`Tandem exited (${code ?? sig}) before ready\n${log}`));
    });
  });
  return { child, pid: child.pid!, url: `iscsi://${HOST}:${port}/${TANDEM_IQN}/0` };
}

export async function startTgt(port: number, file: string): Promise<BenchTarget> {
  const tgtd = findBinary('tgtd');
  const tgtadm = findBinary('tgtadm');
  if (!tgtd || !tgtadm) throw new Error('tgtd/tgtadm not found (Debian: tgt)');
  const control = String(1000 + (port % 30000));
  const child = spawnTracked(tgtd, ['-f', '-C', control, '--iscsi', `portal=${HOST}:${port}`], { stdio: 'ignore' });
  const adm = (...a: string[]) => {
    const r = spawnSync(tgtadm, ['-C', control, '--lld', 'iscsi', ...a], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tgtadm ${a.join(' ')}: ${r.stderr}`);
  };
  await until(() => child.exitCode === null && spawnSync(tgtadm, ['-C', control, '--op', 'show', '--mode', 'sys'], { timeout: 5000 }).status === 0, 'tgtd answering tgtadm', 20_000);
  adm('--op', 'new', '--mode', 'target', '--tid', '1', '-T', TGT_IQN);
  adm('--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', file);
  adm('--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
  return { child, pid: child.pid!, url: `iscsi://${HOST}:${port}/${TGT_IQN}/1` };
}

/** Peak resident set (VmHWM) of a process in MiB, NaN where /proc does not say. */
export function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
