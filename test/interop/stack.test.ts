// `tandem stack` (what `npm start` runs) as a developer meets it: started with a data directory of its own, the
// embedded database and a private nats-server, on addresses and ports that cannot collide with a stack the
// developer has running (127.0.0.41/42, free ports). Ready means two registered nodes in the demo cluster, seen
// through GraphQL; SIGINT stops every part and the process exits 0; a restart reuses the token and the fleet;
// a port in use is one line and exit 2 with nothing left running.
import { type ChildProcess } from 'child_process';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { makeTempDir, removeDir } from '../support/files';
import { freePort, run, spawnTracked, stopChild } from '@tandem/testing';
import { TANDEM_BIN } from '../support/target';
import { findBinary, skipWithReason } from '../support/tools';

const NODE_HOSTS = ['127.0.0.41', '127.0.0.42'];
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

/** Synchronous, so the suite can be declared skipped: can this machine listen on 127.0.0.41 (Linux: all of 127/8)? */
function canBind(host: string): boolean {
  const script = `require('net').createServer().once('error',()=>process.exit(1)).listen(0,${JSON.stringify(host)},function(){this.close();process.exit(0)})`;
  return spawnSync(process.execPath, ['-e', script], { timeout: 5000 }).status === 0;
}

function skipReason(): string | undefined {
  if (!findBinary('nats-server')) return 'missing nats-server (Debian package nats-server; scripts/test.sh installs it)';
  const unbindable = NODE_HOSTS.find((h) => !canBind(h));
  if (unbindable) return `cannot listen on ${unbindable} (the stack gives each node a loopback address of its own)`;
  return undefined;
}

interface RunningStack {
  child: ChildProcess;
  output: () => string;
  errors: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface StackEnv {
  dir: string;
  gatewayPort: number;
  natsPort: number;
  iscsiPort: number;
  httpPort: number;
}

function stackEnv(s: StackEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The developer's own settings must not leak in: this stack uses the embedded database and its own NATS.
  for (const key of Object.keys(env)) if (/^(NATS_URL|DATABASE_URL|TANDEM_)/.test(key)) delete env[key];
  return {
    ...env,
    TANDEM_DATA_DIR: s.dir,
    TANDEM_GATEWAY_LISTEN: `127.0.0.1:${s.gatewayPort}`,
    TANDEM_STACK_NATS_PORT: String(s.natsPort),
    TANDEM_STACK_NODES: NODE_HOSTS.join(','),
    TANDEM_STACK_ISCSI_PORT: String(s.iscsiPort),
    TANDEM_STACK_HTTP_PORT: String(s.httpPort),
  };
}

function startStack(s: StackEnv): RunningStack {
  const child = spawnTracked(process.execPath, [TANDEM_BIN, 'stack'], { env: stackEnv(s), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, errors: () => err, exited };
}

async function waitForReady(stack: RunningStack): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exit: { code: number | null } | undefined;
  void stack.exited.then((e) => (exit = e));
  while (!/^tandem stack: ready/m.test(stack.output())) {
    if (exit) throw new Error(`tandem stack exited (code ${exit.code}) before it was ready\n--- stdout\n${stack.output()}\n--- stderr\n${stack.errors()}`);
    if (Date.now() > deadline) throw new Error(`tandem stack not ready within ${READY_TIMEOUT_MS / 1000} s\n--- stdout\n${stack.output()}\n--- stderr\n${stack.errors()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopStack(stack: RunningStack): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  stack.child.kill('SIGINT');
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`tandem stack still running ${STOP_TIMEOUT_MS / 1000} s after SIGINT`)), STOP_TIMEOUT_MS).unref());
  const exit = await Promise.race([stack.exited, timer]);
  return { ...exit, ms: Date.now() - started };
}

async function graphql(port: number, query: string, variables?: unknown, token?: string): Promise<{ data?: any; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  return (await res.json()) as { data?: any; errors?: { message: string }[] };
}

function listening(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface StackState {
  pid: number;
  clusterId: string;
  siteId: string;
  nats: { pid: number | null };
  nodes: { name: string; nodeId: string; pid: number }[];
}

const FLEET_QUERY = '{ sites { edges { node { id name } } } clusters { edges { node { id name siteId nodes { id name clusterId portals { host port } } } } } storageNodes { edges { node { id name clusterId } } } }';
type Edges<T> = { edges: { node: T }[] };
/** The fleet query's connections as plain lists (sites, clusters, nodes). */
async function fleetLists(port: number): Promise<{ errors?: unknown; data: { sites: any[]; clusters: any[]; nodes: any[] } }> {
  const r = await graphql(port, FLEET_QUERY);
  const d = r.data as { sites: Edges<unknown>; clusters: Edges<unknown>; storageNodes: Edges<unknown> } | undefined;
  const nodes = <T>(c: Edges<T> | undefined) => (c?.edges ?? []).map((e) => e.node);
  return { errors: r.errors, data: { sites: nodes(d?.sites), clusters: nodes(d?.clusters), nodes: nodes(d?.storageNodes) } };
}

const reason = skipReason();
if (reason) {
  describe('tandem stack', () => skipWithReason('tandem stack', reason));
} else {
  describe('tandem stack', () => {
    let s: StackEnv;
    let stack: RunningStack | undefined;
    /** Children of stacks this test started (from their stack.json), killed if a failed test left them behind. */
    const childPids = new Set<number>();

    beforeAll(async () => {
      s = { dir: makeTempDir('tandem-stack-'), gatewayPort: await freePort(), natsPort: await freePort(), iscsiPort: await freePort(NODE_HOSTS[0]), httpPort: await freePort(NODE_HOSTS[0]) };
    });

    afterEach(async () => {
      if (stack && stack.child.exitCode === null && stack.child.signalCode === null) await stopChild(stack.child, 20_000);
      stack = undefined;
      for (const pid of childPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      childPids.clear();
    });

    afterAll(() => removeDir(s?.dir));

    const readState = (): StackState => {
      const state = JSON.parse(fs.readFileSync(path.join(s.dir, 'stack.json'), 'utf8')) as StackState;
      for (const pid of [state.nats.pid, ...state.nodes.map((n) => n.pid)]) if (pid) childPids.add(pid);
      return state;
    };

    const everyPort = () => [
      { host: '127.0.0.1', port: s.gatewayPort, what: 'gateway' },
      { host: '127.0.0.1', port: s.natsPort, what: 'nats-server' },
      ...NODE_HOSTS.flatMap((host) => [
        { host, port: s.iscsiPort, what: `iSCSI ${host}` },
        { host, port: s.httpPort, what: `health ${host}` },
      ]),
    ];

    it('comes up with two registered nodes in the demo cluster, accepts the printed mutation, and stops cleanly on SIGINT', async () => {
      stack = startStack(s);
      await waitForReady(stack);
      const out = stack.output();

      // The token: generated (32 random bytes, hex), kept 0600, printed.
      const tokenFile = path.join(s.dir, 'api-token');
      const token = fs.readFileSync(tokenFile, 'utf8').trim();
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
      expect(out).toContain(token);
      expect(out).toContain(`http://127.0.0.1:${s.gatewayPort}/graphql`);
      expect(out).toContain(`iscsi-ls -s iscsi://${NODE_HOSTS[0]}:${s.iscsiPort}`);
      expect(out).toContain(`NATS_URL=nats://127.0.0.1:${s.natsPort} npx tandem events tail`);

      const state = readState();
      const fleet = await fleetLists(s.gatewayPort);
      expect(fleet.errors).toBeUndefined();
      const demo = fleet.data.clusters.filter((c: { name: string }) => c.name === 'demo');
      expect(demo).toHaveLength(1);
      expect(demo[0].id).toBe(state.clusterId);
      expect(fleet.data.sites.filter((x: { name: string }) => x.name === 'demo').map((x: { id: string }) => x.id)).toEqual([state.siteId]);
      const nodes = [...demo[0].nodes].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name));
      expect(nodes.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b']);
      expect(nodes.map((n: { portals: unknown }) => n.portals)).toEqual(NODE_HOSTS.map((host) => [{ host, port: s.iscsiPort }]));
      expect(nodes.map((n: { id: string }) => n.id)).toEqual(state.nodes.map((n) => n.nodeId));

      // The printed createDevice mutation, as printed (real cluster and node ids), with the token; refused without it.
      const curl = /-d '(\{"query":"mutation[^']*)'/.exec(out);
      expect(curl).not.toBeNull();
      const body = JSON.parse(curl![1]) as { query: string; variables: { input: { clusterId: string; replicas: { nodeId: string }[] } } };
      expect(body.variables.input.clusterId).toBe(state.clusterId);
      expect(body.variables.input.replicas[0].nodeId).toBe(state.nodes[0].nodeId);
      const refused = await graphql(s.gatewayPort, body.query, body.variables);
      expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const created = await graphql(s.gatewayPort, body.query, body.variables, token);
      expect(created.errors).toBeUndefined();
      expect(created.data.createDevice.device).toMatchObject({ name: 'disk1', sizeBytes: 1024 ** 3 });

      for (const pid of [state.pid, state.nats.pid!, ...state.nodes.map((n) => n.pid)]) expect(alive(pid)).toBe(true);

      const stopped = await stopStack(stack);
      expect(stopped).toMatchObject({ code: 0, signal: null });
      expect(stack.output()).toMatch(/tandem stack: stopped/);
      for (const pid of [state.nats.pid!, ...state.nodes.map((n) => n.pid)]) expect(alive(pid)).toBe(false);
      for (const p of everyPort()) expect([p.what, await listening(p.host, p.port)]).toEqual([p.what, false]);
      expect(fs.existsSync(path.join(s.dir, 'stack.json'))).toBe(false);
    });

    it('restarts on the same data with the same token, fleet and nodes, nothing duplicated', async () => {
      const token = fs.readFileSync(path.join(s.dir, 'api-token'), 'utf8').trim();
      stack = startStack(s);
      await waitForReady(stack);
      expect(stack.output()).toContain(token);
      const state = readState();
      const fleet = await fleetLists(s.gatewayPort);
      expect(fleet.errors).toBeUndefined();
      expect(fleet.data.sites).toHaveLength(1);
      expect(fleet.data.clusters).toHaveLength(1);
      expect(fleet.data.clusters[0].id).toBe(state.clusterId);
      expect(fleet.data.nodes).toHaveLength(2);
      expect(fleet.data.nodes.every((n: { clusterId: string }) => n.clusterId === state.clusterId)).toBe(true);
      const stopped = await stopStack(stack);
      expect(stopped).toMatchObject({ code: 0, signal: null });
    });

    it('a port in use: one line, exit 2, nothing left running', async () => {
      const blocker = net.createServer().listen(s.iscsiPort, NODE_HOSTS[1]);
      await new Promise((r) => blocker.once('listening', r));
      try {
        const r = await run(process.execPath, [TANDEM_BIN, 'stack'], { env: stackEnv(s), timeoutMs: 60_000 });
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^tandem stack: ${NODE_HOSTS[1].replace(/\./g, '\\.')}:${s.iscsiPort} \\(node-b iSCSI portal\\) is already in use`))]);
        for (const p of everyPort().filter((x) => !(x.host === NODE_HOSTS[1] && x.port === s.iscsiPort))) {
          expect([p.what, await listening(p.host, p.port)]).toEqual([p.what, false]);
        }
      } finally {
        blocker.close();
      }
    });
  });
}
