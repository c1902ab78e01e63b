/**
 * The stack's private NATS server (when NATS_URL is not set): `nats-server` with JetStream on 127.0.0.1, its
 * store under `<dataDir>/nats`, so the event stream outlives a restart just as the database does.
 */
import { connect } from 'nats';
import * as path from 'path';
import { describeExit, StackChild } from './childProcess';
import { StackConfigError } from './stackOptions';

export const NATS_HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;

export interface PrivateNats {
  url: string;
  child: StackChild;
}

export async function startPrivateNats(binary: string, dataDir: string, port: number, echo: boolean): Promise<PrivateNats> {
  const storeDir = path.join(dataDir, 'nats');
  const child = new StackChild({
    name: 'nats',
    command: binary,
    args: ['--addr', NATS_HOST, '--port', String(port), '--jetstream', '--store_dir', storeDir, '--server_name', 'tandem-stack'],
    logFile: path.join(dataDir, 'logs', 'nats-server.log'),
    echo,
  });
  await child.start();
  const url = `nats://${NATS_HOST}:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exited) {
      await child.waitForExit();
      const last = child.lastLines().filter((l) => /\[(FTL|ERR)\]/.test(l)).pop() ?? child.lastLines().pop() ?? '';
      throw new StackConfigError(`nats-server on ${NATS_HOST}:${port} stopped at start (${describeExit(child.exited!)}): ${last.replace(/^.*\[(FTL|ERR)\]\s*/, '')}`);
    }
    try {
      // JetStream answers once the server is up: that is what the orchestrator and the agents need.
      const nc = await connect({ servers: url, timeout: 1000, reconnect: false });
      try {
        await (await nc.jetstreamManager()).getAccountInfo();
      } finally {
        await nc.close();
      }
      return { url, child };
    } catch {
      if (Date.now() > deadline) {
        await child.stop(3000);
        throw new Error(`nats-server did not accept JetStream connections on ${url} within ${READY_TIMEOUT_MS / 1000} s (log: ${child.logFile()})`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

/** NATS_URL given: it must answer, with JetStream, before anything else starts. */
export async function checkExternalNats(url: string): Promise<void> {
  let nc;
  try {
    nc = await connect({ servers: url, timeout: 3000, reconnect: false });
  } catch (err) {
    throw new StackConfigError(`NATS_URL=${url} does not answer (${(err as Error).message}); unset NATS_URL to let the stack run its own nats-server`);
  }
  try {
    await (await nc.jetstreamManager()).getAccountInfo();
  } catch (err) {
    throw new StackConfigError(`NATS_URL=${url} answers but has no JetStream (${(err as Error).message}); start it with -js`);
  } finally {
    await nc.close();
  }
}
