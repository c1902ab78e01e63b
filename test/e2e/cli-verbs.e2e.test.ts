// The `tandem` API verbs against a real private `tandem stack` (embedded database, private nats-server): `-o json`
// equals what GraphQL answers for the same fields, tables carry their columns, and exit codes are 0/1/2/3.
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { run, RunResult, spawnTracked, stopChild, describeResult } from '../support/process';
import { freePort } from '../support/ports';
import { TANDEM_BIN } from '../support/target';
import { privateStackEnv } from '../support/privateStackEnv';
import { until } from '../support/until';
import { findBinary, skipWithReason } from '../support/tools';
import { CLUSTER_FIELDS, DEVICE_FIELDS, NODE_FIELDS, SITE_FIELDS } from '../../apps/cli/src/api/fields';

interface StackState {
  graphql: string;
  clusterId: string;
  nodes: { name: string; nodeId: string }[];
}

const TITLE = 'tandem CLI verbs';
// Loopback octets of its own: fleet-truth uses 60-89, control-plane 100-199, stack-node-death 200-249.
const octet = 30 + (process.pid % 20);

if (!findBinary('nats-server')) {
  skipWithReason(TITLE, 'nats-server missing (apt-get install nats-server)');
} else {
  describe(TITLE, () => {
    let child: ChildProcess | undefined;
    let dataDir = '';
    let env: NodeJS.ProcessEnv = {};
    let state: StackState;
    let output = '';

    beforeAll(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-cli-verbs-'));
      env = await privateStackEnv(octet, dataDir);
      child = spawnTracked(process.execPath, [TANDEM_BIN, 'stack'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (output += d));
      await until(() => /tandem stack: ready/.test(output) || child!.exitCode !== null, 'the stack to be ready', 150_000, 250);
      if (!/tandem stack: ready/.test(output)) throw new Error(`the stack did not start:\n${output}`);
      state = JSON.parse(fs.readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as StackState;
      env.TANDEM_API_URL = state.graphql;
    }, 180_000);

    afterAll(async () => {
      await stopChild(child, 40_000);
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    /** `tandem ARGS` as a child process, with the API URL and token in its environment only. */
    const tandem = (...args: string[]): Promise<RunResult> => run(process.execPath, [TANDEM_BIN, ...args], { env, timeoutMs: 120_000 });
    const ok = async (...args: string[]): Promise<string> => {
      const r = await tandem(...args);
      if (r.code !== 0) throw new Error(describeResult(`tandem ${args.join(' ')}`, r));
      return r.stdout;
    };
    async function gql<T>(query: string, variables: object = {}): Promise<T> {
      const res = await fetch(state.graphql, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${env.TANDEM_API_TOKEN}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
      if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
      return body.data as T;
    }
    const edges = <T>(c: { edges: { node: T }[] }): T[] => c.edges.map((e) => e.node);
    // Liveness fields move between two reads; everything else must be equal.
    const still = (n: Record<string, unknown>) => {
      const { lastSeenAt, health, reachable, healthReasons, allocatedBytes, ...rest } = n;
      void lastSeenAt, health, reachable, healthReasons, allocatedBytes;
      return rest;
    };

    let deviceId = '';

    it('site, cluster and node list -o json equal the API; tables carry their columns', async () => {
      const api = await gql<{ sites: never; clusters: never; storageNodes: never }>(
        `{ sites(first: 500) { edges { node { ${SITE_FIELDS} } } } clusters(first: 500) { edges { node { ${CLUSTER_FIELDS} } } } storageNodes(first: 500) { edges { node { ${NODE_FIELDS} } } } }`,
      );
      expect(JSON.parse(await ok('site', 'list', '-o', 'json'))).toEqual(edges(api.sites));
      expect(JSON.parse(await ok('cluster', 'list', '-o', 'json'))).toEqual(edges(api.clusters));
      const nodes = JSON.parse(await ok('node', 'list', '-o', 'json')) as Record<string, unknown>[];
      expect(nodes.map(still)).toEqual(edges<Record<string, unknown>>(api.storageNodes).map(still));
      expect(nodes.map((n) => n.name).sort()).toEqual(['node-a', 'node-b']);
      const nodeA = state.nodes.find((n) => n.name === 'node-a')!.nodeId;
      const shown = JSON.parse(await ok('node', 'show', nodeA, '-o', 'json')) as Record<string, unknown>;
      expect(shown).toMatchObject({ id: nodeA, name: 'node-a' });
      expect(await ok('node', 'list')).toMatch(/ID.*NAME.*HEALTH.*STATE.*REACHABLE.*CAPACITY/);
      expect(await ok('cluster', 'list')).toMatch(/ID.*NAME.*SITE.*STRATEGY.*NODES.*DEVICES/);
      expect(await ok('site', 'list')).toMatch(/ID.*NAME.*CLUSTERS/);
      expect(await ok('alerts', '--all')).toMatch(/SEVERITY.*KIND.*SUBJECT.*ACTIVE/);
      const alerts = await gql<{ alerts: never }>('{ alerts(first: 1000, active: true) { edges { node { id } } } }');
      expect((JSON.parse(await ok('alerts', '-o', 'json')) as { id: string }[]).map((a) => a.id)).toEqual(edges<{ id: string }>(alerts.alerts).map((a) => a.id));
    }, 120_000);

    it('device create, wait ONLINE, show/list -o json equal the API, resize grows, delete --yes', async () => {
      const nodeA = state.nodes.find((n) => n.name === 'node-a')!.nodeId;
      const created = JSON.parse(await ok('device', 'create', '--cluster', state.clusterId, '--name', 'cli-one', '--size', '64M', '--node', nodeA, '-o', 'json')) as { id: string; sizeBytes: number };
      expect(created.sizeBytes).toBe(64 * 1024 * 1024);
      deviceId = created.id;
      await ok('device', 'wait', deviceId, '--state', 'ONLINE', '--timeout', '90s');
      const api = await gql<{ device: unknown; devices: never }>(`query($id: ID!) { device(id: $id) { ${DEVICE_FIELDS} } devices(first: 500) { edges { node { ${DEVICE_FIELDS} } } } }`, { id: deviceId });
      expect(JSON.parse(await ok('device', 'show', deviceId, '-o', 'json'))).toEqual(api.device);
      expect(JSON.parse(await ok('device', 'list', '-o', 'json'))).toEqual(edges(api.devices));
      expect(await ok('device', 'list')).toMatch(/ID.*NAME.*SIZE.*STATE.*STORE.*SECTOR.*REPLICAS.*NODES[\s\S]*cli-one.*64M.*ONLINE.*FLAT/);
      const resized = JSON.parse(await ok('device', 'resize', deviceId, '--size', '128MiB', '-o', 'json')) as { sizeBytes: number };
      expect(resized.sizeBytes).toBe(128 * 1024 * 1024);
      expect((await gql<{ device: { sizeBytes: number } }>('query($id: ID!) { device(id: $id) { sizeBytes } }', { id: deviceId })).device.sizeBytes).toBe(128 * 1024 * 1024);
    }, 180_000);

    it('exit codes: bad size 2, unknown id 3, refused mutation 1, unreachable API 1', async () => {
      const nodeA = state.nodes.find((n) => n.name === 'node-a')!.nodeId;
      const badSize = await tandem('device', 'create', '--cluster', state.clusterId, '--name', 'cli-bad', '--size', '10Q', '--node', nodeA);
      expect(badSize.code).toBe(2);
      expect(badSize.stderr).toMatch(/unknown unit "Q"/);
      expect((await tandem('device', 'resize', deviceId, '--size', '1.5')).code).toBe(2);
      // Shrinking is the API's InvalidInputError: bad input too.
      const shrink = await tandem('device', 'resize', deviceId, '--size', '1M');
      expect(shrink.code).toBe(2);
      expect(shrink.stderr).toMatch(/only grow/);
      expect((await tandem('device', 'show', randomUUID())).code).toBe(3);
      expect((await tandem('node', 'show', randomUUID())).code).toBe(3);
      expect((await tandem('device', 'resize', randomUUID(), '--size', '1G')).code).toBe(3);
      // A second device of the same name in the cluster is a ConflictError: the command was refused.
      const dup = await tandem('device', 'create', '--cluster', state.clusterId, '--name', 'cli-one', '--size', '64M', '--node', nodeA);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toMatch(/already exists/);
      expect((await tandem('device', 'delete', deviceId)).code).toBe(2);
      expect((await tandem('device', 'list', '--bogus')).code).toBe(2);
      const port = await freePort();
      expect((await tandem('site', 'list', '--api', `http://127.0.0.1:${port}/graphql`)).code).toBe(1);
    }, 120_000);

    it('device delete --yes removes it', async () => {
      await ok('device', 'delete', deviceId, '--yes');
      expect((await gql<{ device: unknown }>('query($id: ID!) { device(id: $id) { id } }', { id: deviceId })).device).toBeNull();
      expect((await tandem('device', 'show', deviceId)).code).toBe(3);
    }, 60_000);
  });
}
