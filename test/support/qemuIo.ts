// qemu-io against an iSCSI URL: ok when it exited 0 and printed no error or failed verification.
import { run } from '@tandem/testing';

export async function qemuIo(url: string, commands: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  const r = await run('qemu-io', ['-f', 'raw', ...commands.flatMap((c) => ['-c', c]), url], { timeoutMs });
  const out = r.stdout + r.stderr;
  return { ok: r.code === 0 && !/error|failed/i.test(out), out };
}
