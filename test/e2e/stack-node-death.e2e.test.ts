// The local stack survives a node death: `tandem stack kill node-b` SIGKILLs node-b's agent, the stack reports it
// with its log lines, keeps GraphQL answering and restarts node-b by itself; under --no-restart node-b stays down
// until `tandem stack restart node-b`. Real `tandem stack` processes on the embedded database and a private nats-server.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { run, spawnTracked, stopChild, until } from '@tandem/testing';
import { privateStackEnv } from '../support/privateStackEnv';
import { TANDEM_BIN } from '../support/target';
import { findBinary, skipWithReason } from '../support/tools';

interface StackState {
  graphql: string;
  clusterId: string;
  nodes: { name: string; nodeId: string; pid: number | null; state: string; http: string }[];
}

interface RunningStack {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  output: () => string;
  state: () => StackState;
  process: ChildProcess;
}

/** A stack of two nodes on addresses, ports and a data directory of its own, ready. */
async function startStack(octet: number, extraArgs: string[]): Promise<RunningStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-node-death-'));
  // Addresses of their own on loopback: neither a developer's stack (127.0.0.11/12) nor control-plane's (127.0.100-199.x).
  const env = await privateStackEnv(octet, dataDir);
  let output = '';
  const child = spawnTracked(process.execPath, [TANDEM_BIN, 'stack', ...extraArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (output += d));
  await until(() => /tandem stack: ready/.test(output) || child.exitCode !== null, 'the stack to be ready', 150_000, 250);
  if (!/tandem stack: ready/.test(output)) throw new Error(`the stack did not start:\n${output}`);
  const state = () => JSON.parse(fs.readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as StackState;
  return { env, dataDir, output: () => output, state, process: child };
}

async function stopStack(stack: RunningStack | undefined): Promise<{ code: number | null; killed: boolean } | undefined> {
  if (!stack) return undefined;
  const stopped = await stopChild(stack.process, 40_000);
  fs.rmSync(stack.dataDir, { recursive: true, force: true });
  return stopped;
}

/** `tandem stack kill|restart NODE` against the stack's data directory. */
function nodeVerb(stack: RunningStack, verb: 'kill' | 'restart', node: string) {
  return run(process.execPath, [TANDEM_BIN, 'stack', verb, node], { env: stack.env, timeoutMs: 200_000 });
}

async function gql<T>(stack: RunningStack, query: string, variables: object = {}): Promise<T> {
  const res = await fetch(stack.state().graphql, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.env.TANDEM_API_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
  // A refused mutation answers with its payload's typed errors.
  const refused = Object.values(body.data ?? {}).flatMap((v) => ((v as { errors?: { message: string }[] } | null)?.errors ?? []));
  if (refused.length > 0) throw new Error(refused.map((e) => e.message).join('; '));
  return body.data as T;
}

type Truth = { device: { state: string; synchronizedCopies: number; health: { reasons: string[] } }; alerts: { kind: string }[] };
const truth = async (stack: RunningStack, id: string): Promise<Truth> => {
  const t = await gql<Omit<Truth, 'alerts'> & { alerts: { edges: { node: { kind: string } }[] } }>(
    stack,
    'query($id: ID!) { device(id: $id) { state synchronizedCopies health { reasons } } alerts(active: true) { edges { node { kind } } } }',
    { id },
  );
  return { device: t.device, alerts: t.alerts.edges.map((e) => e.node) };
};

async function nodeNames(stack: RunningStack): Promise<string[]> {
  const res = await fetch(stack.state().graphql, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.env.TANDEM_API_TOKEN}` },
    body: JSON.stringify({ query: '{ storageNodes { edges { node { name } } } }' }),
  });
  const body = (await res.json()) as { data?: { storageNodes: { edges: { node: { name: string } }[] } } };
  return (body.data?.storageNodes.edges ?? []).map((e) => e.node.name).sort();
}

/** node-b's /health, once it answers `registered` (undefined while it does not answer). */
async function registered(stack: RunningStack, node: string): Promise<boolean> {
  const http = stack.state().nodes.find((n) => n.name === node)!.http;
  try {
    const res = await fetch(`http://${http}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { registration?: string }).registration === 'registered';
  } catch {
    return false;
  }
}

const TITLE = 'tandem stack survives a node death';
const octetBase = 200 + (process.pid % 25) * 2;

if (!findBinary('nats-server')) {
  skipWithReason(TITLE, 'nats-server missing (apt-get install nats-server)');
} else {
  describe(`${TITLE}: restarted with backoff`, () => {
    let stack: RunningStack | undefined;
    beforeAll(async () => {
      stack = await startStack(octetBase, []);
    }, 180_000);
    afterAll(async () => {
      const stopped = await stopStack(stack);
      expect(stopped).toMatchObject({ code: 0, killed: false });
    }, 60_000);

    it('kill node-b: reported with its log lines, GraphQL still answers, node-b comes back by itself', async () => {
      const s = stack!;
      const before = s.state().nodes.find((n) => n.name === 'node-b')!;
      expect(before).toMatchObject({ state: 'running' });
      // A HA device across both nodes, so the stack's GraphQL has a truth to tell about the kill.
      const [a, b] = ['node-a', 'node-b'].map((name) => s.state().nodes.find((n) => n.name === name)!.nodeId);
      const created = await gql<{ createHaDevice: { aggregateId: string } }>(s, 'mutation($i: CreateHaDeviceInput!) { createHaDevice(input: $i) { aggregateId errors { ... on UserError { code message } } } }', {
        i: { clusterId: s.state().clusterId, name: 'demo-ha', sizeBytes: 64 << 20, replicas: [{ nodeId: a, priority: 200 }, { nodeId: b, priority: 100 }] },
      });
      const ha = created.createHaDevice.aggregateId;
      await until(async () => (await truth(s, ha)).device.state === 'ONLINE', 'the HA device ONLINE', 60_000, 250);

      const unknown = await nodeVerb(s, 'kill', 'node-z');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('no node node-z in this stack; its nodes: node-a, node-b');

      // Watched from the moment of the kill: the stack restarts node-b within seconds.
      const killing = Date.now();
      const degradedView = until(async () => {
        const t = await truth(s, ha);
        return t.device.state !== 'ONLINE' ? t : undefined;
      }, 'the HA device not ONLINE after the kill', 30_000, 100);
      degradedView.catch(() => undefined); // awaited below; an earlier failing expectation must not leave it unhandled
      const killed = await nodeVerb(s, 'kill', 'node-b');
      expect(killed.stderr).toBe('');
      expect(killed.code).toBe(0);
      expect(killed.stdout).toContain(`killed node-b (pid ${before.pid}, SIGKILL); the stack restarts it`);

      await until(() => /restarting node-b in 1 s \(attempt 1\)/.test(s.output()), 'the stack to announce the restart', 30_000);
      const report = s.output().slice(s.output().indexOf(`node-b (pid ${before.pid}) died`));
      expect(report).toMatch(/^node-b \(pid \d+\) died \(signal SIGKILL\); the rest of the stack keeps running\. Its last log lines \(.*node-b\.log\):\n(  node-b \| .*\n)+/);
      // The reported lines are node-b's own: the end of its log file (a restart appends to it later).
      const reported = report.split('\n').slice(1).filter((l) => l.startsWith('  node-b | ')).map((l) => l.slice('  node-b | '.length));
      expect(reported.length).toBeGreaterThan(0);
      const logged = fs.readFileSync(path.join(s.dataDir, 'logs', 'node-b.log'), 'utf8').split('\n');
      for (const line of reported) expect(logged).toContain(line);

      // The stack kept running: GraphQL answers with both nodes while node-b is away, and tells the truth.
      expect(s.process.exitCode).toBeNull();
      expect(await nodeNames(s)).toEqual(['node-a', 'node-b']);
      const degraded = await degradedView;
      expect(Date.now() - killing).toBeLessThan(60_000);
      expect(degraded.device.synchronizedCopies).toBe(1);
      expect(degraded.device.health.reasons.join(' ')).toMatch(/node-b/);
      // (Its DeviceDegraded alert is raised only if this lasts past an evaluation round; fleet-truth checks alerts.)

      // node-b is back: a new process, registered again, said so.
      await until(() => /node-b is back \(pid \d+, registered\)/.test(s.output()), 'node-b back, registered', 120_000, 250);
      const after = s.state().nodes.find((n) => n.name === 'node-b')!;
      expect(after.state).toBe('running');
      expect(after.pid).not.toBe(before.pid);
      expect(await until(() => registered(s, 'node-b'), 'node-b health answering registered', 30_000, 250)).toBe(true);
      expect(await nodeNames(s)).toEqual(['node-a', 'node-b']);
      // Resynchronised, ONLINE, its DeviceDegraded alert cleared (on one machine the heartbeat shares the sync link's
      // addresses, so HeartbeatSharesSyncLink stays, truthfully).
      const healed = await until(async () => {
        const t = await truth(s, ha);
        return t.device.state === 'ONLINE' && !t.alerts.some((x) => x.kind === 'DeviceDegraded') ? t : undefined;
      }, 'the HA device ONLINE again with DeviceDegraded cleared', 60_000, 250);
      expect(healed.alerts.map((x) => x.kind)).not.toContain('DeviceDegraded');

      // A running node restarts on request: SIGTERM, a new process, registered before the command returns.
      const nodeA = s.state().nodes.find((n) => n.name === 'node-a')!;
      const restarted = await nodeVerb(s, 'restart', 'node-a');
      expect(restarted.code).toBe(0);
      expect(restarted.stdout).toMatch(/^node-a restarted \(pid \d+\) and registered\n$/);
      expect(s.state().nodes.find((n) => n.name === 'node-a')!.pid).not.toBe(nodeA.pid);
      expect(await registered(s, 'node-a')).toBe(true);
    }, 240_000);
  });

  describe(`${TITLE}: --no-restart, then tandem stack restart`, () => {
    let stack: RunningStack | undefined;
    beforeAll(async () => {
      stack = await startStack(octetBase + 1, ['--no-restart']);
    }, 180_000);
    afterAll(async () => {
      const stopped = await stopStack(stack);
      expect(stopped).toMatchObject({ code: 0, killed: false });
    }, 60_000);

    it('kill node-b: it stays down (a second kill says so) until restart node-b brings it back', async () => {
      const s = stack!;
      const killed = await nodeVerb(s, 'kill', 'node-b');
      expect(killed.code).toBe(0);
      expect(killed.stdout).toContain('it stays down (--no-restart)');
      await until(() => /node-b stays down \(--no-restart\); bring it back with: npx tandem stack restart node-b --data-dir /.test(s.output()), 'the stack to say node-b stays down', 30_000);
      expect(s.state().nodes.find((n) => n.name === 'node-b')).toMatchObject({ state: 'down', pid: null });
      expect(await registered(s, 'node-b')).toBe(false);
      expect(s.output()).not.toMatch(/restarting node-b in/);

      const again = await nodeVerb(s, 'kill', 'node-b');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('node-b is already down (--no-restart)');
      expect(await nodeNames(s)).toEqual(['node-a', 'node-b']);

      const restarted = await nodeVerb(s, 'restart', 'node-b');
      expect(restarted.stderr).toBe('');
      expect(restarted.code).toBe(0);
      expect(restarted.stdout).toMatch(/^node-b started \(pid \d+\) and registered\n$/);
      expect(await registered(s, 'node-b')).toBe(true);
      expect(s.state().nodes.find((n) => n.name === 'node-b')).toMatchObject({ state: 'running' });
      expect(s.process.exitCode).toBeNull();
    }, 240_000);
  });
}
