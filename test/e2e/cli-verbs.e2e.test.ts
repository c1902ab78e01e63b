// Every `tandem` API verb against a real private `tandem stack` (embedded database, private nats-server): `-o json`
// equals what GraphQL answers for the same fields (asked here, by the test's own queries), tables carry their
// columns, `node maintenance` shows on `node show`, `events tail` follows from now on, and exit codes are 0/1/2/3.
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { describeResult, freePort, run, RunResult, spawnTracked, stopChild, until } from '@tandem/testing';
import { TANDEM_BIN } from '../support/target';
import { privateStackEnv } from '../support/privateStackEnv';
import { findBinary, skipWithReason } from '../support/tools';

interface StackState {
  graphql: string;
  clusterId: string;
  siteId: string;
  nats: { url: string };
  nodes: { name: string; nodeId: string }[];
}

type Row = Record<string, unknown>;

// The fields the CLI promises in `-o json` (docs/api.md, CLI section): the test asks the API for the same ones.
const DEVICE = 'id name clusterId sizeBytes sectorSize storeKind cacheMode state replicaCount synchronizedCopies replicas { nodeId priority } createdPosition updatedPosition version';
const NODE = 'id name clusterId state health reachable inMaintenance maintenanceReason softwareVersion capacityBytes allocatedBytes portals { host port } healthReasons lastSeenAt';
const CLUSTER = 'id name siteId haStrategy nodes { id name } devices { id name }';
const SITE = 'id name description clusters { id name }';
const ALERT = 'id kind severity active message raisedAt clearedAt subject { id kind name }';

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
    const json = async <T = Row>(...args: string[]): Promise<T> => JSON.parse(await ok(...args, '-o', 'json')) as T;
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
    const still = (n: Row) => {
      const { lastSeenAt, health, reachable, healthReasons, allocatedBytes, ...rest } = n;
      void lastSeenAt, health, reachable, healthReasons, allocatedBytes;
      return rest;
    };
    const nodeId = (name: string): string => state.nodes.find((n) => n.name === name)!.nodeId;
    const apiNode = async (id: string): Promise<Row> => (await gql<{ storageNode: Row }>(`query($id: ID!) { storageNode(id: $id) { ${NODE} } }`, { id })).storageNode;
    const apiDevice = async (id: string): Promise<Row | null> => (await gql<{ device: Row | null }>(`query($id: ID!) { device(id: $id) { ${DEVICE} } }`, { id })).device;

    /**
     * The CLI's answer equals the API's, read back to back. Replica reports and alerts may land between the two
     * reads, so a difference is read again (until both agree or 30 s pass), then asserted.
     */
    async function agree(cli: () => Promise<unknown>, api: () => Promise<unknown>): Promise<void> {
      let last: [unknown, unknown] = [undefined, undefined];
      await until(async () => {
        last = [await cli(), await api()];
        return JSON.stringify(last[0]) === JSON.stringify(last[1]);
      }, 'the CLI and the API to agree', 30_000, 200).catch(() => undefined);
      expect(last[0]).toEqual(last[1]);
    }

    let deviceId = '';
    let haId = '';

    it('site and cluster list|show -o json equal the API; tables carry their columns', async () => {
      const api = await gql<{ sites: never; clusters: never; site: Row; cluster: Row }>(
        `query($site: ID!, $cluster: ID!) { sites(first: 500) { edges { node { ${SITE} } } } clusters(first: 500) { edges { node { ${CLUSTER} } } }
           site(id: $site) { ${SITE} } cluster(id: $cluster) { ${CLUSTER} } }`,
        { site: state.siteId, cluster: state.clusterId },
      );
      expect(await json('site', 'list')).toEqual(edges(api.sites));
      expect(await json('cluster', 'list')).toEqual(edges(api.clusters));
      expect(await json('site', 'show', state.siteId)).toEqual(api.site);
      expect(await json('cluster', 'show', state.clusterId)).toEqual(api.cluster);
      expect(await ok('cluster', 'list')).toMatch(/ID.*NAME.*SITE.*STRATEGY.*NODES.*DEVICES/);
      expect(await ok('cluster', 'show', state.clusterId)).toMatch(/ID.*NAME.*SITE.*STRATEGY[\s\S]*node-a, node-b/);
      expect(await ok('site', 'list')).toMatch(/ID.*NAME.*CLUSTERS/);
      expect(await ok('site', 'show', state.siteId)).toMatch(new RegExp(`ID.*NAME.*CLUSTERS[\\s\\S]*${state.siteId}`));
    }, 120_000);

    it('node list|show -o json equal the API (by id and by name)', async () => {
      const api = await gql<{ storageNodes: never }>(`{ storageNodes(first: 500) { edges { node { ${NODE} } } } }`);
      const nodes = await json<Row[]>('node', 'list');
      expect(nodes.map(still)).toEqual(edges<Row>(api.storageNodes).map(still));
      expect(nodes.map((n) => n.name).sort()).toEqual(['node-a', 'node-b']);
      expect(still(await json('node', 'show', nodeId('node-a')))).toEqual(still(await apiNode(nodeId('node-a'))));
      expect(still(await json('node', 'show', 'node-b'))).toEqual(still(await apiNode(nodeId('node-b'))));
      expect(await ok('node', 'list')).toMatch(/ID.*NAME.*HEALTH.*STATE.*REACHABLE.*MAINTENANCE.*CAPACITY/);
    }, 120_000);

    it('node maintenance on: node show reports it, events tail sees it, a new replica there is refused (1); off: cleared', async () => {
      const b = nodeId('node-b');
      // events tail follows from now on: started before the change, it must print the change and nothing older.
      const tail = spawnTracked(process.execPath, [TANDEM_BIN, 'events', 'tail', '--json', '--nats', state.nats.url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let tailOut = '';
      let tailErr = '';
      tail.stdout!.setEncoding('utf8').on('data', (d: string) => (tailOut += d));
      tail.stderr!.setEncoding('utf8').on('data', (d: string) => (tailErr += d));
      try {
        await until(() => /following .* from now on/.test(tailErr) || tail.exitCode !== null, 'events tail to be in place', 60_000, 100);
        expect(tailErr).toMatch(/following .* from now on/);

        const on = await json('node', 'maintenance', 'on', 'node-b', '--reason', 'cli e2e');
        expect(on).toMatchObject({ id: b, inMaintenance: true, maintenanceReason: 'cli e2e', state: 'MAINTENANCE' });
        const shownOn = await json('node', 'show', 'node-b');
        expect(shownOn).toMatchObject({ inMaintenance: true, maintenanceReason: 'cli e2e', state: 'MAINTENANCE' });
        expect(still(shownOn)).toEqual(still(await apiNode(b)));
        expect(await ok('node', 'show', b)).toMatch(/MAINTENANCE[\s\S]*yes \(cli e2e\)/);

        const seen = await until(() => tailOut.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; data: { nodeId?: string } }).find((e) => e.type === 'NodeMaintenanceEntered' && e.data.nodeId === b), 'events tail to print NodeMaintenanceEntered', 30_000, 100);
        expect(seen).toBeDefined();
        // From now on: the stack's start-up (SiteCreated, ClusterCreated, …) is history, not printed.
        expect(tailOut).not.toMatch(/"SiteCreated"|"ClusterCreated"/);

        // A node in maintenance takes no new replica: the API refuses the command (exit 1) with its reason.
        const refused = await tandem('device', 'create', '--cluster', state.clusterId, '--name', 'cli-refused', '--size', '16M', '--node', 'node-b');
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(/in maintenance/);

        const off = await json('node', 'maintenance', 'off', b);
        expect(off).toMatchObject({ id: b, inMaintenance: false, maintenanceReason: null, state: 'ACTIVE' });
        const shownOff = await json('node', 'show', 'node-b');
        expect(shownOff).toMatchObject({ inMaintenance: false, maintenanceReason: null, state: 'ACTIVE' });
        expect(still(shownOff)).toEqual(still(await apiNode(b)));
      } finally {
        tail.kill('SIGINT');
        await until(() => tail.exitCode !== null || tail.signalCode !== null, 'events tail to stop on Ctrl-C', 30_000, 100);
      }
      expect(tail.exitCode).toBe(0);
    }, 180_000);

    it('device create, wait ONLINE, show/list -o json equal the API, list --first, resize grows', async () => {
      const created = await json<{ id: string; sizeBytes: number; cacheMode: string }>('device', 'create', '--cluster', state.clusterId, '--name', 'cli-one', '--size', '64M', '--node', 'node-a', '--cache', 'none');
      expect(created).toMatchObject({ sizeBytes: 64 * 1024 * 1024, cacheMode: 'NONE' });
      deviceId = created.id;
      // stdout is a pipe here: no progress bar, only the device as JSON.
      const waited = await json<Row>('device', 'wait', deviceId, '--state', 'ONLINE', '--timeout', '90s');
      expect(waited).toMatchObject({ id: deviceId, state: 'ONLINE' });
      await agree(() => json('device', 'show', deviceId), () => apiDevice(deviceId));
      await agree(() => json('device', 'list'), async () => edges((await gql<{ devices: never }>(`{ devices(first: 500) { edges { node { ${DEVICE} } } } }`)).devices));
      await agree(() => json('device', 'list', '--cluster', 'demo'), async () => edges((await gql<{ devices: never }>(`query($c: ID) { devices(first: 500, clusterId: $c) { edges { node { ${DEVICE} } } } }`, { c: state.clusterId })).devices));
      expect(await ok('device', 'list')).toMatch(/ID.*NAME.*SIZE.*STATE.*STORE.*SECTOR.*REPLICAS.*NODES[\s\S]*cli-one.*64M.*ONLINE.*FLAT/);
      const resized = await json<{ sizeBytes: number }>('device', 'resize', deviceId, '--size', '128MiB');
      expect(resized.sizeBytes).toBe(128 * 1024 * 1024);
      expect((await apiDevice(deviceId))!.sizeBytes).toBe(128 * 1024 * 1024);
    }, 180_000);

    it('device create-ha across both nodes (names, priority, links, strategy, initial sync) comes ONLINE; list pages; alerts equal the API', async () => {
      const [a, b] = [nodeId('node-a'), nodeId('node-b')];
      const nodes = await gql<{ storageNodes: { edges: { node: { id: string; syncAddresses: { host: string; port: number }[]; heartbeatAddresses: { host: string; port: number }[] } }[] } }>(
        '{ storageNodes(first: 10) { edges { node { id syncAddresses { host port } heartbeatAddresses { host port } } } } }',
      );
      const links = new Map(edges(nodes.storageNodes).map((n) => [n.id, n]));
      const addr = (x: { host: string; port: number }) => `${x.host}:${x.port}`;
      const ha = await json<Row & { id: string }>(
        'device', 'create-ha', 'cli-ha', '--cluster', 'demo', '--size', '32M', '--node', 'node-a:120', '--node', b,
        '--sync', `node-a=${links.get(a)!.syncAddresses.map(addr).join(',')}`, '--heartbeat', `${b}=${links.get(b)!.heartbeatAddresses.map(addr).join(',')}`,
        '--strategy', 'heartbeat', '--initial-sync', 'clear-both', '--cache', 'write-through', '--sector', '4096',
      );
      haId = ha.id;
      expect(ha).toMatchObject({ name: 'cli-ha', sizeBytes: 32 << 20, sectorSize: 4096, cacheMode: 'WRITE_THROUGH', replicaCount: 2, replicas: [{ nodeId: a, priority: 120 }, { nodeId: b, priority: 100 }] });
      const wiring = await gql<{ device: { ha: Row; replicas: { nodeId: string; ha: { syncAddresses: unknown[]; heartbeatAddresses: unknown[] } }[] } }>(
        'query($id: ID!) { device(id: $id) { ha { strategy initialSync } replicas { nodeId ha { syncAddresses { host port } heartbeatAddresses { host port } } } } }',
        { id: haId },
      );
      expect(wiring.device.ha).toEqual({ strategy: 'HEARTBEAT', initialSync: 'CLEAR_BOTH' });
      expect(wiring.device.replicas.find((r) => r.nodeId === a)!.ha.syncAddresses).toEqual(links.get(a)!.syncAddresses);
      expect(wiring.device.replicas.find((r) => r.nodeId === b)!.ha.heartbeatAddresses).toEqual(links.get(b)!.heartbeatAddresses);
      expect(await json('device', 'wait', haId, '--state', 'ONLINE', '--timeout', '120s')).toMatchObject({ id: haId, state: 'ONLINE', synchronizedCopies: 2 });
      await agree(() => json('device', 'show', haId), () => apiDevice(haId));

      // Two devices now: --first 1 stops after one, no --first follows the cursor over both.
      const all = async () => edges<Row>((await gql<{ devices: never }>(`{ devices(first: 500) { edges { node { ${DEVICE} } } } }`)).devices);
      expect(await all()).toHaveLength(2);
      await agree(() => json('device', 'list'), all);
      await agree(() => json('device', 'list', '--first', '1'), async () => (await all()).slice(0, 1));

      // Alerts: active (the HA device's heartbeat shares the sync link on one machine) and --all, as the API lists them.
      const alerts = async (active: boolean | null) => edges((await gql<{ alerts: never }>(`query($active: Boolean) { alerts(first: 1000, active: $active) { edges { node { ${ALERT} } } } }`, { active })).alerts);
      await agree(() => json('alerts'), () => alerts(true));
      await agree(() => json('alerts', '--all'), () => alerts(null));
      expect(await ok('alerts', '--all')).toMatch(/SEVERITY.*KIND.*SUBJECT.*ACTIVE/);
    }, 240_000);

    it('exit codes: bad size 2, unknown id 3, refused mutation 1, unreachable API 1', async () => {
      const badSize = await tandem('device', 'create', '--cluster', state.clusterId, '--name', 'cli-bad', '--size', '10Q', '--node', 'node-a');
      expect(badSize.code).toBe(2);
      expect(badSize.stderr).toMatch(/unknown unit "Q"/);
      expect((await tandem('device', 'resize', deviceId, '--size', '1.5')).code).toBe(2);
      expect((await tandem('device', 'create-ha', 'cli-bad', '--cluster', 'demo', '--size', '1X', '--node', 'node-a', '--node', 'node-b')).code).toBe(2);
      // Equal priorities, one node only: refused before anything is sent.
      expect((await tandem('device', 'create-ha', 'cli-bad', '--cluster', 'demo', '--size', '16M', '--node', 'node-a:5', '--node', 'node-b:5')).code).toBe(2);
      expect((await tandem('device', 'create-ha', 'cli-bad', '--cluster', 'demo', '--size', '16M', '--node', 'node-a')).code).toBe(2);
      // Shrinking is the API's InvalidInputError: bad input too.
      const shrink = await tandem('device', 'resize', deviceId, '--size', '1M');
      expect(shrink.code).toBe(2);
      expect(shrink.stderr).toMatch(/only grow/);
      for (const args of [['device', 'show'], ['node', 'show'], ['site', 'show'], ['cluster', 'show'], ['node', 'maintenance', 'on'], ['device', 'wait']]) {
        const r = await tandem(...args, randomUUID());
        expect({ args, code: r.code }).toEqual({ args, code: 3 });
      }
      expect((await tandem('device', 'resize', randomUUID(), '--size', '1G')).code).toBe(3);
      expect((await tandem('device', 'create-ha', 'cli-bad', '--cluster', 'demo', '--size', '16M', '--node', 'node-a', '--node', 'node-z')).code).toBe(3);
      // A second device of the same name in the cluster is a ConflictError: the command was refused.
      const dup = await tandem('device', 'create', '--cluster', state.clusterId, '--name', 'cli-one', '--size', '64M', '--node', 'node-a');
      expect(dup.code).toBe(1);
      expect(dup.stderr).toMatch(/already exists/);
      expect((await tandem('device', 'delete', deviceId)).code).toBe(2);
      expect((await tandem('device', 'list', '--bogus')).code).toBe(2);
      expect((await tandem('device', 'list', '--first', '0')).code).toBe(2);
      const port = await freePort();
      expect((await tandem('site', 'list', '--api', `http://127.0.0.1:${port}/graphql`)).code).toBe(1);
    }, 180_000);

    it('device delete --yes removes them', async () => {
      for (const id of [deviceId, haId]) {
        await ok('device', 'delete', id, '--yes');
        expect(await apiDevice(id)).toBeNull();
        expect((await tandem('device', 'show', id)).code).toBe(3);
      }
      expect(await json('device', 'list')).toEqual([]);
    }, 120_000);

    it('completion bash|zsh prints a script naming every verb', async () => {
      const bash = await ok('completion', 'bash');
      expect(bash).toContain('complete -o default -F _tandem tandem');
      for (const verb of ['create-ha', 'maintenance', 'alerts', 'resize', 'wait']) expect(bash).toContain(verb);
      expect(await ok('completion', 'zsh')).toMatch(/^#compdef tandem/);
      expect((await tandem('completion', 'fish')).code).toBe(2);
    }, 60_000);
  });
}
