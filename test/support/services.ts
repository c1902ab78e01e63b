// Synchronous reachability probes, so a suite that needs Postgres or NATS is declared skipped (with the reason)
// rather than silently passing when the service is absent. Each probe gives up after 3 s.
import { spawnSync } from 'child_process';

export function tcpReachable(host: string, port: number, timeoutMs = 3000): boolean {
  const script = `const s=require('net').connect(${port},${JSON.stringify(host)});s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),${timeoutMs}).unref();`;
  return spawnSync(process.execPath, ['-e', script], { timeout: timeoutMs + 1000 }).status === 0;
}

/** Why a suite needing these services must skip, or undefined when they all answer. */
export function missingServices(needs: { postgres?: boolean; nats?: boolean }): string | undefined {
  const missing: string[] = [];
  if (needs.postgres && !tcpReachable('127.0.0.1', 5432)) missing.push('Postgres on 127.0.0.1:5432');
  if (needs.nats && !tcpReachable('127.0.0.1', 4222)) missing.push('NATS on 127.0.0.1:4222');
  return missing.length ? `not reachable: ${missing.join(', ')}` : undefined;
}
