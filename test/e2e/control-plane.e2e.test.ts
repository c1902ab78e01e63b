// End to end through the whole stack as `npm start` runs it (`tandem stack`): a GraphQL createDevice makes the
// chosen node agent export a LUN, `iscsi-ls` sees it, `qemu-io` writes and reads it, and the events arrive on a
// GraphQL subscription and on `tandem events tail`; then resize and delete travel the same way.
// Twice: on the real Postgres and NATS (a schema, subject prefix and streams of its own), and on the embedded
// default (PGlite + a private nats-server), which is what a fresh machine gets.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { connect } from 'nats';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { USER_ERRORS } from '../support/fleet';
import { freePort, run, spawnTracked, stopChild, until } from '@tandem/testing';
import { missingServices } from '../support/services';
import { TANDEM_BIN } from '../support/target';
import { findBinary, missingBinaries, skipWithReason } from '../support/tools';

const POSTGRES_URL = process.env.TANDEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MiB = 1 << 20;
const TOOLS = ['iscsi-ls', 'qemu-io', 'iscsi-readcapacity16', 'nats-server'];

interface StackState {
  graphql: string;
  nats: { url: string };
  clusterId: string;
  nodes: { name: string; nodeId: string; iscsi: string }[];
}


function e2e(title: string, variant: 'postgres' | 'embedded', skip: string | undefined): void {
  if (skip) return skipWithReason(title, skip);
  describe(title, () => {
    const tag = `e2e_${variant}_${randomBytes(3).toString('hex')}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tandem-${tag}-`));
    let stack: ChildProcess | undefined;
    let tail: ChildProcess | undefined;
    let ws: WsClient | undefined;
    let output = '';
    let env: NodeJS.ProcessEnv = {};
    let state: StackState;
    let token = '';

    const gql = async <T>(query: string, variables: object = {}): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> => {
      const res = await fetch(state.graphql, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return res.json() as never;
    };
    type Accepted = { aggregateId: string; errors: { code: string; message: string }[] };
    type DeviceView = { state: string; sizeBytes: number; replicas: { export: string; iscsiUrl: string | null; targetName: string | null; node: { name: string } }[] };
    const device = async (id: string) => (await gql<{ device: DeviceView | null }>('query($id: ID!) { device(id: $id) { state sizeBytes replicas { export iscsiUrl targetName node { name } } } }', { id })).data?.device;

    beforeAll(async () => {
      const ports = { gateway: await freePort(), iscsi: await freePort(), http: await freePort(), nats: await freePort(), sync: await freePort(), heartbeat: await freePort() };
      // Addresses of their own on loopback, so a developer's running stack (127.0.0.11/12) is never in the way.
      const octet = 100 + (process.pid % 100);
      env = {
        ...process.env,
        TANDEM_DATA_DIR: dataDir,
        TANDEM_GATEWAY_LISTEN: `127.0.0.1:${ports.gateway}`,
        TANDEM_STACK_NODES: `127.0.${octet}.1,127.0.${octet}.2,127.0.${octet}.3`,
        TANDEM_STACK_ISCSI_PORT: String(ports.iscsi),
        TANDEM_STACK_HTTP_PORT: String(ports.http),
        TANDEM_STACK_NATS_PORT: String(ports.nats),
        TANDEM_STACK_SYNC_PORT: String(ports.sync),
        TANDEM_STACK_HEARTBEAT_PORT: String(ports.heartbeat),
        TANDEM_API_TOKEN: randomBytes(24).toString('hex'),
        TANDEM_LOG_LEVEL: 'warn',
      };
      delete env.DATABASE_URL;
      delete env.NATS_URL;
      if (variant === 'postgres') {
        Object.assign(env, {
          DATABASE_URL: POSTGRES_URL,
          TANDEM_DB_SCHEMA: tag,
          NATS_URL: 'nats://127.0.0.1:4222',
          TANDEM_SUBJECT_PREFIX: tag,
          TANDEM_EVENTS_STREAM: `TANDEM_EVENTS_${tag.toUpperCase()}`,
          TANDEM_AGENT_REPORTS_STREAM: `TANDEM_AGENT_REPORTS_${tag.toUpperCase()}`,
        });
      }
      token = env.TANDEM_API_TOKEN as string;
      stack = spawnTracked(process.execPath, [TANDEM_BIN, 'stack'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const s of [stack.stdout, stack.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (output += d));
      await until(() => /tandem stack: ready/.test(output) || stack?.exitCode !== null ? true : undefined, 'the stack to be ready', 120_000);
      if (!/tandem stack: ready/.test(output)) throw new Error(`the stack did not start:\n${output}`);
      state = JSON.parse(fs.readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as StackState;
    }, 150_000);

    afterAll(async () => {
      await ws?.dispose();
      await stopChild(tail, 3000);
      const stopped = await stopChild(stack, 20_000);
      if (variant === 'postgres') {
        const nc = await connect({ servers: 'nats://127.0.0.1:4222', timeout: 3000 });
        const jsm = await nc.jetstreamManager();
        for (const s of [env.TANDEM_EVENTS_STREAM, env.TANDEM_AGENT_REPORTS_STREAM]) await jsm.streams.delete(s as string).catch(() => undefined);
        await nc.close();
        const pg = new PgClient({ connectionString: POSTGRES_URL });
        await pg.connect();
        await pg.query(`DROP SCHEMA IF EXISTS "${tag}" CASCADE`);
        await pg.end();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
      // Ctrl-C / SIGTERM stops the stack cleanly.
      expect(stopped.killed).toBe(false);
      expect(stopped.code).toBe(0);
    }, 60_000);

    it('createDevice → the node exports it → iscsi-ls and qemu-io use it → events on the subscription and the tail; resize and delete follow', async () => {
      const nodeA = state.nodes[0];
      // Live followers first: a GraphQL subscription and `tandem events tail --json`.
      const seen: { type: string; data: Record<string, unknown> }[] = [];
      ws = createClient({ url: state.graphql.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
      const subscribed = new Promise<void>((resolve, reject) => {
        ws!.subscribe<{ events: { type: string; data: Record<string, unknown> } }>(
          { query: 'subscription { events { globalPosition type data } }' },
          { next: (m) => m.data && seen.push(m.data.events), error: reject, complete: () => undefined },
        );
        ws!.on('connected', () => setTimeout(resolve, 300));
      });
      await subscribed;
      let tailed = '';
      tail = spawnTracked(process.execPath, [TANDEM_BIN, 'events', 'tail', '--json', '--nats', state.nats.url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      tail.stdout?.setEncoding('utf8').on('data', (d: string) => (tailed += d));
      let tailSaid = '';
      tail.stderr?.setEncoding('utf8').on('data', (d: string) => (tailSaid += d));
      // Like tail -f it follows from now on: wait until its consumer is in place.
      await until(() => /tandem events tail: following .* from now on/.test(tailSaid), 'the tail to follow the stream', 30_000);
      const tailedTypes = () => tailed.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; data: { deviceId?: string } });

      // Bad input and a missing token change nothing.
      const unauthenticated = await fetch(state.graphql, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'mutation { createSite(input: { name: "x" }) { aggregateId } }' }) });
      expect(((await unauthenticated.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('UNAUTHENTICATED');

      const created = await gql<{ createDevice: Accepted }>(`mutation($input: CreateDeviceInput!) { createDevice(input: $input) { aggregateId ${USER_ERRORS} } }`, {
        input: { clusterId: state.clusterId, name: 'e2e-disk', sizeBytes: 64 * MiB, replicas: [{ nodeId: nodeA.nodeId, priority: 100 }] },
      });
      expect([created.errors, created.data?.createDevice.errors]).toEqual([undefined, []]);
      const deviceId = created.data!.createDevice.aggregateId;
      const exported = await until(async () => {
        const d = await device(deviceId);
        return d?.state === 'ONLINE' ? d : undefined;
      }, 'the device ONLINE (exported by its node)');
      const replica = exported.replicas[0];
      expect(replica).toMatchObject({ export: 'EXPORTED', targetName: `iqn.2026-11.io.tandem:${deviceId}`, node: { name: nodeA.name } });
      expect(replica.iscsiUrl).toBe(`iscsi://${nodeA.iscsi}/iqn.2026-11.io.tandem:${deviceId}/0`);

      const listed = await run('iscsi-ls', ['-s', `iscsi://${nodeA.iscsi}`], { timeoutMs: 30_000 });
      expect(listed.stdout).toContain(`iqn.2026-11.io.tandem:${deviceId}`);
      expect(listed.stdout).toMatch(new RegExp(`Lun:0 .*Size:${64}M|Lun:0.*\\(${64 * MiB}\\)|Lun:0`));
      const io = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0xc3 1M 4M', '-c', 'read -P 0xc3 1M 4M', '-c', 'read -P 0 0 1M', replica.iscsiUrl!], { timeoutMs: 60_000 });
      expect(io.stderr).toBe('');
      expect(io.stdout).toMatch(/read 4194304\/4194304 bytes/);
      expect(io.stdout).not.toMatch(/Pattern verification failed/);

      // Grow it: the node grows the LUN and says so.
      const resized = await gql<{ resizeDevice: Accepted }>(`mutation($input: ResizeDeviceInput!) { resizeDevice(input: $input) { aggregateId ${USER_ERRORS} } }`, { input: { deviceId, sizeBytes: 96 * MiB } });
      expect([resized.errors, resized.data?.resizeDevice.errors]).toEqual([undefined, []]);
      await until(() => seen.some((e) => e.type === 'ReplicaResized'), 'ReplicaResized on the subscription');
      const capacity = await run('iscsi-readcapacity16', ['-s', replica.iscsiUrl!], { timeoutMs: 30_000 });
      expect(capacity.stdout.trim()).toBe(String(96 * MiB));

      // Delete it: the node withdraws the LUN (its image is kept).
      const deleted = await gql<{ deleteDevice: Accepted }>(`mutation($input: DeleteDeviceInput!) { deleteDevice(input: $input) { aggregateId ${USER_ERRORS} } }`, { input: { deviceId } });
      expect([deleted.errors, deleted.data?.deleteDevice.errors]).toEqual([undefined, []]);
      await until(() => seen.some((e) => e.type === 'ReplicaWithdrawn'), 'ReplicaWithdrawn on the subscription');
      const after = await run('iscsi-ls', ['-s', `iscsi://${nodeA.iscsi}`], { timeoutMs: 30_000 });
      expect(after.stdout).not.toContain(deviceId);

      const expected = ['DeviceCreated', 'ReplicaExported', 'DeviceResized', 'ReplicaResized', 'DeviceDeleted', 'ReplicaWithdrawn'];
      const forDevice = (events: { type: string; data: { deviceId?: unknown } }[]) => events.filter((e) => e.data.deviceId === deviceId).map((e) => e.type);
      expect(forDevice(seen)).toEqual(expected);
      await until(() => forDevice(tailedTypes()).length >= expected.length, 'the tail to print the device events');
      expect(forDevice(tailedTypes())).toEqual(expected);
    }, 240_000);

    it('createHaDevice → both nodes export one LU, mirrored (an LSFS replica on A, FLAT on B; SYNC_FROM copies A to B first); HA state and events reach GraphQL', async () => {
      const [nodeA, nodeB] = state.nodes;
      type HaView = {
        state: string;
        ha: { strategy: string; initialSync: string; syncFromNodeId: string };
        replicas: {
          export: string;
          iscsiUrl: string | null;
          targetName: string | null;
          node: { name: string };
          ha: { portGroup: number; paths: string; accessState: string | null; blocked: boolean; partners: { nodeId: string; state: string }[] };
        }[];
      };
      const haDevice = async (id: string) =>
        (
          await gql<{ device: HaView | null }>(
            `query($id: ID!) { device(id: $id) { state ha { strategy initialSync syncFromNodeId }
               replicas { export iscsiUrl targetName node { name } ha { portGroup paths accessState blocked partners { nodeId state } } } } }`,
            { id },
          )
        ).data?.device;
      const created = await gql<{ createHaDevice: Accepted }>(`mutation($input: CreateHaDeviceInput!) { createHaDevice(input: $input) { aggregateId ${USER_ERRORS} } }`, {
        input: {
          clusterId: state.clusterId,
          name: 'e2e-ha',
          sizeBytes: 64 * MiB,
          storeKind: 'LSFS',
          replicas: [
            { nodeId: nodeA.nodeId, priority: 200 },
            { nodeId: nodeB.nodeId, priority: 100, paths: 'NON_OPTIMIZED', storeKind: 'FLAT' },
          ],
          strategy: 'HEARTBEAT',
          initialSync: 'SYNC_FROM',
          syncFromNodeId: nodeA.nodeId,
        },
      });
      expect([created.errors, created.data?.createHaDevice.errors]).toEqual([undefined, []]);
      const deviceId = created.data!.createHaDevice.aggregateId;
      // Both replicas exported, serving, each seeing its partner synchronized (after B received A's full copy).
      const ready = await until(
        async () => {
          const d = await haDevice(deviceId);
          const synced = d?.replicas.every((r) => r.export === 'EXPORTED' && !r.ha.blocked && r.ha.partners.some((p) => p.state === 'SYNCHRONIZED'));
          return d?.state === 'ONLINE' && synced ? d : undefined;
        },
        'both replicas exported and synchronized',
        90_000,
      );
      expect(ready.ha).toEqual({ strategy: 'HEARTBEAT', initialSync: 'SYNC_FROM', syncFromNodeId: nodeA.nodeId });
      // Each node keeps its replica in the store kind asked for.
      const imageDir = (name: string) => path.join(dataDir, 'nodes', name, 'devices');
      expect(fs.statSync(path.join(imageDir(nodeA.name), `${deviceId}.lsfs`)).isDirectory()).toBe(true);
      expect(fs.statSync(path.join(imageDir(nodeB.name), `${deviceId}.img`)).isFile()).toBe(true);
      const [onA, onB] = ready.replicas;
      // One target name on both nodes; each node's own port group; B's paths non-optimized as asked.
      expect(onA.targetName).toMatch(/^iqn\.2026-11\.io\.tandem:e2e-ha-[0-9a-f]{8}$/);
      expect(onB.targetName).toBe(onA.targetName);
      expect([onA.node.name, onA.ha.portGroup, onA.ha.paths, onA.ha.accessState]).toEqual([nodeA.name, 1, 'OPTIMIZED', 'OPTIMIZED']);
      await until(async () => (await haDevice(deviceId))?.replicas[1].ha.accessState === 'NON_OPTIMIZED', 'B reported non-optimized paths');
      expect([onB.node.name, onB.ha.portGroup, onB.ha.paths]).toEqual([nodeB.name, 2, 'NON_OPTIMIZED']);

      // Mirrored: written through one node, read back through the other.
      const viaA = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0xa5 1M 2M', onA.iscsiUrl!], { timeoutMs: 60_000 });
      expect(viaA.stdout).toMatch(/wrote 2097152\/2097152 bytes/);
      const viaB = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0xa5 1M 2M', '-c', 'write -P 0x5a 8M 1M', onB.iscsiUrl!], { timeoutMs: 60_000 });
      expect(viaB.stdout).toMatch(/read 2097152\/2097152 bytes/);
      expect(viaB.stdout).not.toMatch(/Pattern verification failed/);
      const backViaA = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x5a 8M 1M', onA.iscsiUrl!], { timeoutMs: 60_000 });
      expect(backViaA.stdout).toMatch(/read 1048576\/1048576 bytes/);
      expect(backViaA.stdout).not.toMatch(/Pattern verification failed/);

      // The nodes' HA transitions are in the log: B took a full copy from A, both report synchronized partners.
      const logged = await gql<{ events: { edges: { node: { type: string; data: Record<string, unknown> } }[] } }>(
        'query { events(first: 500) { edges { node { type data } } } }',
      );
      const haEvents = logged.data!.events.edges.map((e) => e.node).filter((e) => e.data.deviceId === deviceId);
      // Every region copied: the whole 64 MiB went from A to B.
      expect(haEvents.filter((e) => e.type === 'ResyncCompleted').map((e) => [e.data.nodeId, e.data.bytes])).toContainEqual([nodeA.nodeId, 64 * MiB]);
      expect(haEvents.some((e) => e.type === 'PathStateChanged' && e.data.nodeId === nodeB.nodeId && e.data.state === 'non-optimized')).toBe(true);

      // Not in split-brain: the survivor node refuses, and says so on its replica.
      const resolve = await gql<{ resolveSplitBrain: Accepted }>(`mutation($input: ResolveSplitBrainInput!) { resolveSplitBrain(input: $input) { aggregateId ${USER_ERRORS} } }`, { input: { deviceId, survivorNodeId: nodeA.nodeId } });
      expect([resolve.errors, resolve.data?.resolveSplitBrain.errors]).toEqual([undefined, []]);
      await until(async () => {
        const d = await gql<{ device: { replicas: { lastError: string | null }[] } }>('query($id: ID!) { device(id: $id) { replicas { lastError } } }', { id: deviceId });
        return d.data?.device.replicas[0].lastError?.includes('not in split-brain');
      }, 'the refusal on the survivor replica');
    }, 240_000);

    it('createHaDevice with three replicas (node-majority, no witness) → three nodes export one LU, each synchronized with both partners; a write through one reads back through the others', async () => {
      const [nodeA, nodeB, nodeC] = state.nodes;
      expect(nodeC).toBeDefined();
      const created = await gql<{ createHaDevice: Accepted }>(`mutation($input: CreateHaDeviceInput!) { createHaDevice(input: $input) { aggregateId ${USER_ERRORS} } }`, {
        input: {
          clusterId: state.clusterId,
          name: 'e2e-trio',
          sizeBytes: 32 * MiB,
          replicas: [
            { nodeId: nodeA.nodeId, priority: 30 },
            { nodeId: nodeB.nodeId, priority: 20 },
            { nodeId: nodeC.nodeId, priority: 10 },
          ],
          strategy: 'NODE_MAJORITY',
          initialSync: 'CLEAR_BOTH',
        },
      });
      expect([created.errors, created.data?.createHaDevice.errors]).toEqual([undefined, []]);
      const deviceId = created.data!.createHaDevice.aggregateId;
      type Trio = { state: string; replicas: { export: string; iscsiUrl: string | null; ha: { blocked: boolean; partners: { nodeId: string; state: string }[] } }[] };
      const ready = await until(
        async () => {
          const d = (await gql<{ device: Trio | null }>('query($id: ID!) { device(id: $id) { state replicas { export iscsiUrl ha { blocked partners { nodeId state } } } } }', { id: deviceId })).data?.device;
          const synced = d?.replicas.length === 3 && d.replicas.every((r) => r.export === 'EXPORTED' && !r.ha.blocked && r.ha.partners.length === 2 && r.ha.partners.every((p) => p.state === 'SYNCHRONIZED'));
          return d?.state === 'ONLINE' && synced ? d : undefined;
        },
        'three replicas exported, each synchronized with both partners',
        90_000,
      );
      const [viaA, viaB, viaC] = ready.replicas.map((r) => r.iscsiUrl!);
      const w = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x3c 4M 1M', viaC], { timeoutMs: 60_000 });
      expect(w.stdout).toMatch(/wrote 1048576\/1048576 bytes/);
      for (const url of [viaA, viaB]) {
        const r = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x3c 4M 1M', url], { timeoutMs: 60_000 });
        expect(r.stdout).toMatch(/read 1048576\/1048576 bytes/);
        expect(r.stdout).not.toMatch(/Pattern verification failed/);
      }
    }, 180_000);
  });
}

const tools = missingBinaries(TOOLS);
const toolSkip = tools.length ? `missing ${tools.join(', ')}` : undefined;
e2e('e2e on Postgres and NATS: GraphQL → node agent → iSCSI, events on subscription and tail', 'postgres', toolSkip ?? missingServices({ postgres: true, nats: true }));
e2e('e2e on the embedded default (PGlite, private nats-server)', 'embedded', toolSkip ?? (findBinary('nats-server') ? undefined : 'nats-server missing'));
