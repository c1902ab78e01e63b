// A LUN that can be grown while a host uses it: `tandem serve` has no run-time resize, the node agent does (the
// orchestrator's `resize-device` command over NATS), so this runs a node agent on a private nats-server and sends
// it that command as the orchestrator would.
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { connect, NatsConnection } from 'nats';
import { PrivateNats } from '../support/natsServer';
import { REPO_ROOT } from '../support/target';
import { freePort, spawnTracked, stopChild, until } from '@tandem/testing';

const AGENT_MAIN = path.join(REPO_ROOT, 'apps/node-agent/dist/main.js');
const PREFIX = 'hosttier';

export interface AgentLun {
  port: number;
  iqn: string;
  deviceId: string;
  /** Grows the LUN through the agent's resize-device command; resolves with the agent's reply. */
  resize(sizeBytes: number): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

export async function startAgentLun(dir: string, sizeBytes: number): Promise<AgentLun> {
  if (!fs.existsSync(AGENT_MAIN)) throw new Error(`${AGENT_MAIN} missing: run npm run build`);
  const nats = new PrivateNats();
  await nats.start();
  const port = await freePort();
  const iqn = 'iqn.2026-12.io.tandem:host-tier-resize';
  const deviceId = randomUUID();
  const config = path.join(dir, 'agent.json');
  fs.writeFileSync(config, JSON.stringify({
    portals: [{ host: '127.0.0.1', port, portalGroupTag: 1 }],
    targets: [{ name: iqn, luns: [{ lun: 0, deviceId, store: { kind: 'flat', path: path.join(dir, 'agent-lun0.img'), sizeBytes, create: true, thin: true } }] }],
  }));
  const args = [AGENT_MAIN, '--config', config, '--state-dir', dir, '--http', `127.0.0.1:${await freePort()}`, '--nats', nats.url(), '--name', 'host-tier'];
  const child: ChildProcess = spawnTracked(process.execPath, args, { env: { ...process.env, TANDEM_SUBJECT_PREFIX: PREFIX } });
  let output = '';
  for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-32768)));
  let nc: NatsConnection | undefined;
  const stop = async () => {
    await nc?.close().catch(() => undefined);
    await stopChild(child, 6000);
    await nats.stop();
  };
  try {
    const nodeId = await until(() => {
      if (child.exitCode !== null) throw new Error(`node agent exited ${child.exitCode}:\n${output}`);
      return fs.existsSync(path.join(dir, 'node-id')) && /serving \d+ LUN/.test(output) ? fs.readFileSync(path.join(dir, 'node-id'), 'utf8').trim() : undefined;
    }, 'the node agent to serve its LUN', 60_000, 200);
    nc = await connect({ servers: nats.url(), timeout: 5000 });
    const conn = nc;
    return {
      port,
      iqn,
      deviceId,
      resize: async (newSize: number) => {
        const subject = `${PREFIX}.tandem.agent.${nodeId}.cmd.resize-device`;
        const reply = await conn.request(subject, JSON.stringify({ commandId: randomUUID(), deviceId, sizeBytes: newSize }), { timeout: 15_000 });
        return new TextDecoder().decode(reply.data);
      },
      log: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
