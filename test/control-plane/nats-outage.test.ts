// NATS stops while a node serves a device: the node keeps serving I/O, the facts it records meanwhile (here its
// image file system filling up and draining, i.e. health degraded then ok) wait in its outbox, and reach the event
// log once, in order, after NATS returns. Real processes: a private nats-server (so it can be stopped), the
// orchestrator on the real Postgres, a node agent whose images live on a 64 MiB tmpfs, and qemu-io.
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawnSync } from 'child_process';
import { Client } from 'pg';
import { connect, NatsConnection } from 'nats';
import { freePort, run, spawnTracked, stopChild, until } from '@tandem/testing';
import { missingServices } from '../support/services';
import { REPO_ROOT } from '../support/target';
import { findBinary, skipWithReason } from '../support/tools';

const POSTGRES_URL = process.env.TANDEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ORCHESTRATOR = path.join(REPO_ROOT, 'apps', 'orchestrator', 'dist', 'main.js');
const AGENT = path.join(REPO_ROOT, 'apps', 'node-agent', 'dist', 'main.js');
const MiB = 1 << 20;
const TITLE = 'NATS outage: the node keeps serving, its facts arrive in order afterwards';

function tmpfsWorks(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs for the image directory';
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-tmpfs-probe-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (mounted) spawnSync('umount', [probe]);
  fs.rmdirSync(probe);
  return mounted ? undefined : 'cannot mount tmpfs here';
}

const nats = findBinary('nats-server');
const skip =
  missingServices({ postgres: true }) ??
  (nats ? undefined : 'nats-server binary missing (Debian package nats-server)') ??
  (findBinary('qemu-io') ? undefined : 'qemu-io missing (qemu-utils)') ??
  tmpfsWorks();


if (skip) skipWithReason(TITLE, skip);
else
  describe(TITLE, () => {
    const tag = `outage_${randomBytes(4).toString('hex')}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-outage-'));
    const images = path.join(dir, 'images');
    const children: ChildProcess[] = [];
    const logs: string[] = [];
    let natsServer: ChildProcess | undefined;
    let natsUrl = '';
    let natsPort = 0;
    let nc: NatsConnection | undefined;
    let pg: Client;
    let mounted = false;

    const spawnLogged = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv) => {
      const child = spawnTracked(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => logs.push(`[${name}] ${d}`));
      children.push(child);
      return child;
    };
    const startNats = () => {
      natsServer = spawnLogged('nats', nats!, ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', path.join(dir, 'nats')], process.env);
    };
    const env = () => ({ ...process.env, DATABASE_URL: POSTGRES_URL, NATS_URL: natsUrl, TANDEM_DB_SCHEMA: tag, TANDEM_LOG_LEVEL: 'warn' });
    const command = async (type: string, payload: object) => {
      const subject = ({ CreateSite: 'site.create', CreateCluster: 'cluster.create', AddNodeToCluster: 'node.add-to-cluster', CreateDevice: 'device.create' } as Record<string, string>)[type];
      const message = { commandId: randomUUID(), type, schemaVersion: 1, payload, metadata: { actor: 'user:outage-test' } };
      const reply = JSON.parse(new TextDecoder().decode((await nc!.request(`tandem.cmd.${subject}`, JSON.stringify(message), { timeout: 10_000 })).data));
      if (!reply.ok) throw new Error(`${type}: ${reply.error.code} ${reply.error.message}`);
      return reply.aggregateId as string;
    };
    const agentEvents = async (nodeId: string) =>
      (await pg.query(`SELECT event_id, event_type, data FROM "${tag}".events WHERE stream_id = $1 ORDER BY global_position`, [`agent-${nodeId}`])).rows as {
        event_id: string;
        event_type: string;
        data: { nodeSequence: number; health?: string; previous?: string; reason?: string };
      }[];
    const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`)).json() as Promise<{ nats: string; outboxPending: number; nodeId: string }>;

    beforeAll(async () => {
      fs.mkdirSync(images);
      expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', images]).status).toBe(0);
      mounted = true;
      natsPort = await freePort();
      natsUrl = `nats://127.0.0.1:${natsPort}`;
      startNats();
      nc = await until(() => connect({ servers: natsUrl, timeout: 1000, maxReconnectAttempts: -1, reconnectTimeWait: 200 }), 'the private nats-server', 20_000);
      pg = new Client({ connectionString: POSTGRES_URL });
      await pg.connect();
    }, 60_000);

    afterAll(async () => {
      for (const child of children.reverse()) await stopChild(child, 5000);
      await nc?.close().catch(() => undefined);
      await pg?.query(`DROP SCHEMA IF EXISTS "${tag}" CASCADE`).catch(() => undefined);
      await pg?.end().catch(() => undefined);
      if (mounted) spawnSync('umount', [images]);
      fs.rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('serves I/O through the outage and delivers the degraded/ok health facts once, in order', async () => {
      spawnLogged('orchestrator', process.execPath, [ORCHESTRATOR], env());
      const portal = await freePort();
      const http = await freePort();
      const config = path.join(dir, 'node.json');
      fs.writeFileSync(config, JSON.stringify({ portals: [{ host: '127.0.0.1', port: portal }], targets: [] }));
      const agentArgs = [AGENT, '--config', config, '--http', `127.0.0.1:${http}`, '--nats', natsUrl, '--name', `outage-${tag.slice(-8)}`, '--image-dir', images, '--space-warn-percent', '50', '--telemetry-interval-ms', '200'];
      spawnLogged('agent', process.execPath, agentArgs, env());
      const nodeId = (await until(() => health(http), 'the agent', 20_000)).nodeId;

      // Place a 48 MiB thin device on the node and wait until the node reports it exported.
      const siteId = await until(() => command('CreateSite', { name: `outage-${tag.slice(-8)}` }), 'the orchestrator', 20_000);
      const clusterId = await command('CreateCluster', { siteId, name: 'c1' });
      await until(async () => (await pg.query(`SELECT 1 FROM "${tag}".nodes WHERE node_id = $1`, [nodeId])).rowCount, 'the node registered', 20_000);
      await command('AddNodeToCluster', { nodeId, clusterId });
      const deviceId = await command('CreateDevice', { clusterId, name: 'outage-disk', sizeBytes: 48 * MiB, replicas: [{ nodeId, priority: 1 }] });
      await until(async () => (await agentEvents(nodeId)).some((e) => e.event_type === 'ReplicaExported'), 'ReplicaExported in the log', 20_000);
      const before = await agentEvents(nodeId);
      // A health fact recorded before the orchestrator knew the node is restated once registered (previous = the same).
      const restated = before.filter((e, i) => i > 0 && e.event_type === 'NodeHealthChanged' && e.data.previous === e.data.health && before[i - 1].event_type === 'NodeHealthChanged');
      expect(restated.length).toBeLessThanOrEqual(1);
      expect(before.filter((e) => !restated.includes(e)).map((e) => [e.event_type, e.data.health])).toEqual([['NodeHealthChanged', 'ok'], ['ReplicaExported', undefined]]);
      const url = `iscsi://127.0.0.1:${portal}/iqn.2026-11.io.tandem:${deviceId}/0`;

      // NATS goes away.
      await stopChild(natsServer!, 5000);
      await until(async () => (await health(http)).nats === 'disconnected', 'the agent to notice', 20_000);

      // The node serves I/O: 40 MiB written (the tmpfs fills past half: degraded), read back, then discarded (ok again).
      const write = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 40M', '-c', 'read -P 0x5a 0 40M', url], { timeoutMs: 60_000 });
      expect(write.stderr).toBe('');
      expect(write.stdout).toMatch(/read 41943040\/41943040 bytes/);
      await until(async () => (await health(http)).outboxPending >= 1, 'the degraded report in the outbox', 20_000);
      const discard = await run('qemu-io', ['-f', 'raw', '-c', 'discard 0 40M', '-c', 'read -P 0 0 40M', url], { timeoutMs: 60_000 });
      expect(discard.stdout).toMatch(/read 41943040\/41943040 bytes/);
      await until(async () => (await health(http)).outboxPending >= 2, 'the ok report in the outbox', 20_000);
      expect(await agentEvents(nodeId)).toHaveLength(before.length);

      // NATS returns: the waiting facts reach the log, once each, in the node's order.
      startNats();
      await until(async () => (await health(http)).outboxPending === 0, 'the outbox to drain', 30_000);
      const after = await until(async () => {
        const events = await agentEvents(nodeId);
        return events.length >= before.length + 2 ? events : undefined;
      }, 'the facts in the log', 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await agentEvents(nodeId)).toHaveLength(after.length);
      const fresh = after.slice(before.length);
      expect(fresh.map((e) => [e.event_type, e.data.health])).toEqual([['NodeHealthChanged', 'degraded'], ['NodeHealthChanged', 'ok']]);
      expect(fresh[0].data.reason).toMatch(/free .*below 50%/);
      const sequences = after.map((e) => e.data.nodeSequence);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
      expect(new Set(after.map((e) => e.event_id)).size).toBe(after.length);
    }, 180_000);
  });
