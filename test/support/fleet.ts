// A control plane and node agents as separate real processes (orchestrator, gateway, agents) on the real Postgres
// and NATS, each test run in a schema, subject prefix and streams of its own; agents can be killed and restarted.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { connect } from 'nats';
import { Client as PgClient } from 'pg';
import { freePort, spawnTracked, stopChild, until } from '@tandem/testing';
import { REPO_ROOT } from './target';

/** Selected in a mutation's payload so `gql` throws on a refusal (typed errors are data, not GraphQL errors). */
export const USER_ERRORS = 'errors { ... on UserError { code message } }';

export const POSTGRES_URL = process.env.TANDEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = 'nats://127.0.0.1:4222';
const MAIN = {
  orchestrator: path.join(REPO_ROOT, 'apps/orchestrator/dist/main.js'),
  gateway: path.join(REPO_ROOT, 'apps/gateway/dist/main.js'),
  agent: path.join(REPO_ROOT, 'apps/node-agent/dist/main.js'),
};

export interface Endpoint {
  host: string;
  port: number;
}

export interface AgentSpec {
  name: string;
  iscsi: Endpoint;
  http: Endpoint;
  sync: Endpoint[];
  heartbeat: Endpoint[];
  /** Extra environment (e.g. a resync rate limit). */
  env?: NodeJS.ProcessEnv;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** NATS as this agent reaches it (from a namespace: the root side of its link); default the fleet's. */
  natsUrl?: string;
}

export class Proc {
  child?: ChildProcess;
  output = '';

  constructor(
    readonly name: string,
    private readonly command: () => { cmd: string; args: string[]; env: NodeJS.ProcessEnv },
  ) {}

  start(): void {
    const { cmd, args, env } = this.command();
    this.output += `--- start ${new Date().toISOString()}\n`;
    this.child = spawnTracked(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [this.child.stdout, this.child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `kill -9`: no chance to flush or say goodbye. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(graceMs = 15_000): Promise<void> {
    if (this.running) await stopChild(this.child, graceMs);
  }

  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}

export class Fleet {
  readonly tag = `fleet_${randomBytes(3).toString('hex')}`;
  readonly token = randomBytes(24).toString('hex');
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tandem-${this.tag}-`));
  readonly env: NodeJS.ProcessEnv;
  gatewayUrl = '';
  orchestrator!: Proc;
  gateway!: Proc;
  readonly agents = new Map<string, Proc>();
  /** The NATS the control plane uses (the system one unless a test runs its own). */
  readonly natsUrl: string;

  constructor(extraEnv: NodeJS.ProcessEnv = {}, options: { natsUrl?: string } = {}) {
    this.natsUrl = options.natsUrl ?? NATS_URL;
    this.env = {
      ...process.env,
      DATABASE_URL: POSTGRES_URL,
      TANDEM_DB_SCHEMA: this.tag,
      NATS_URL: this.natsUrl,
      TANDEM_SUBJECT_PREFIX: this.tag,
      TANDEM_EVENTS_STREAM: `TANDEM_EVENTS_${this.tag.toUpperCase()}`,
      TANDEM_AGENT_REPORTS_STREAM: `TANDEM_AGENT_REPORTS_${this.tag.toUpperCase()}`,
      TANDEM_API_TOKEN: this.token,
      TANDEM_LOG_LEVEL: 'warn',
      ...extraEnv,
    };
  }

  /** Orchestrator first (it runs the migrations), then the gateway. */
  async startControlPlane(): Promise<void> {
    // Its health and metrics on a port of its own (the default 4001 could be anyone's).
    this.env.TANDEM_ORCHESTRATOR_HTTP ??= `127.0.0.1:${await freePort()}`;
    this.orchestrator = new Proc('orchestrator', () => ({ cmd: process.execPath, args: [MAIN.orchestrator], env: this.env }));
    await this.startOrchestrator();
    const listen = `127.0.0.1:${await freePort()}`;
    this.gateway = new Proc('gateway', () => ({ cmd: process.execPath, args: [MAIN.gateway], env: { ...this.env, TANDEM_GATEWAY_LISTEN: listen } }));
    this.gateway.start();
    await until(() => /GraphQL at (http\S+)/.exec(this.gateway.output)?.[1] ?? (this.gateway.running ? undefined : 'exited'), 'the gateway to listen', 60_000, 100);
    const m = /GraphQL at (http\S+)/.exec(this.gateway.output);
    if (!m) throw new Error(`the gateway did not start:\n${this.gateway.tail()}`);
    this.gateway.output = '';
    this.gatewayUrl = m[1];
  }

  /** `http://host:port` of the orchestrator's /health and /metrics. */
  get orchestratorHttp(): string {
    return `http://${this.env.TANDEM_ORCHESTRATOR_HTTP}`;
  }

  async startOrchestrator(): Promise<void> {
    const from = this.orchestrator.output.length;
    this.orchestrator.start();
    await until(() => /ready: schema/.test(this.orchestrator.output.slice(from)) || !this.orchestrator.running, 'the orchestrator to be ready', 60_000, 100);
    if (!this.orchestrator.running) throw new Error(`the orchestrator did not start:\n${this.orchestrator.tail()}`);
  }

  /** An agent with a config of its own (portal, sync and heartbeat links, no targets), registered. */
  async startAgent(spec: AgentSpec): Promise<Proc> {
    const dir = path.join(this.dataDir, spec.name);
    fs.mkdirSync(dir, { recursive: true });
    const config = path.join(dir, 'node.json');
    if (!fs.existsSync(config)) {
      fs.writeFileSync(config, JSON.stringify({ portals: [{ ...spec.iscsi, portalGroupTag: this.agents.size + 1 }], targets: [], replication: { sync: spec.sync, heartbeat: spec.heartbeat } }));
    }
    const proc = new Proc(spec.name, () => {
      const args = [MAIN.agent, '--config', config, '--state-dir', dir, '--http', `${spec.http.host}:${spec.http.port}`, '--nats', spec.natsUrl ?? this.natsUrl, '--name', spec.name];
      const env = { ...this.env, ...spec.env };
      return spec.netns ? { cmd: 'ip', args: ['netns', 'exec', spec.netns, process.execPath, ...args], env } : { cmd: process.execPath, args, env };
    });
    this.agents.set(spec.name, proc);
    await this.restartAgent(spec);
    return proc;
  }

  async restartAgent(spec: Pick<AgentSpec, 'name' | 'http'>): Promise<void> {
    const proc = this.agents.get(spec.name)!;
    proc.start();
    await until(async () => {
      if (!proc.running) return 'exited';
      const res = await fetch(`http://${spec.http.host}:${spec.http.port}/health`).catch(() => undefined);
      return res && ((await res.json()) as { registration?: string }).registration === 'registered' ? 'registered' : undefined;
    }, `${spec.name} to register`, 90_000, 200);
    if (!proc.running) throw new Error(`${spec.name} exited:\n${proc.tail()}`);
  }

  async gql<T>(query: string, variables: object = {}): Promise<T> {
    const res = await fetch(this.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`);
    // A refused mutation answers with its payload's typed errors (when the query selects them).
    const refused = Object.values(body.data ?? {}).flatMap((v) => ((v as { errors?: { message: string }[] } | null)?.errors ?? []));
    if (refused.length > 0) throw new Error(`GraphQL refused: ${refused.map((e) => e.message).join('; ')}`);
    return body.data as T;
  }

  /** A site and a cluster holding every agent started so far. */
  async cluster(): Promise<{ clusterId: string; nodes: Map<string, string> }> {
    const site = await this.gql<{ createSite: { aggregateId: string } }>(`mutation { createSite(input: { name: "fleet" }) { aggregateId ${USER_ERRORS} } }`);
    const cluster = await this.gql<{ createCluster: { aggregateId: string } }>(`mutation($s: ID!) { createCluster(input: { siteId: $s, name: "c1" }) { aggregateId ${USER_ERRORS} } }`, { s: site.createSite.aggregateId });
    const clusterId = cluster.createCluster.aggregateId;
    const { nodes } = await until(async () => {
      const r = await this.gql<{ storageNodes: { edges: { node: { id: string; name: string } }[] } }>('{ storageNodes { edges { node { id name } } } }');
      const listed = r.storageNodes.edges.map((e) => e.node);
      return listed.length >= this.agents.size ? { nodes: listed } : undefined;
    }, 'every agent registered in the read models', 30_000);
    for (const n of nodes) await this.gql(`mutation($n: ID!, $c: ID!) { addNodeToCluster(input: { nodeId: $n, clusterId: $c }) { aggregateId ${USER_ERRORS} } }`, { n: n.id, c: clusterId });
    return { clusterId, nodes: new Map(nodes.map((n) => [n.name, n.id])) };
  }

  /** Rows of a table of the schema, ordered, as plain JSON (for "identical tables"). */
  async table(name: string, orderBy: string): Promise<unknown[]> {
    const pg = new PgClient({ connectionString: POSTGRES_URL });
    await pg.connect();
    try {
      return (await pg.query(`SELECT * FROM "${this.tag}"."${name}" ORDER BY ${orderBy}`)).rows.map((r) => JSON.parse(JSON.stringify(r)));
    } finally {
      await pg.end();
    }
  }

  /** Every process stopped, the schema and streams dropped, the data removed. */
  async dispose(): Promise<void> {
    for (const p of [...this.agents.values()].reverse()) await p.stop().catch(() => undefined);
    await this.gateway?.stop().catch(() => undefined);
    await this.orchestrator?.stop().catch(() => undefined);
    const nc = await connect({ servers: this.natsUrl, timeout: 3000 }).catch(() => undefined);
    if (nc) {
      const jsm = await nc.jetstreamManager();
      for (const s of [this.env.TANDEM_EVENTS_STREAM, this.env.TANDEM_AGENT_REPORTS_STREAM]) await jsm.streams.delete(s as string).catch(() => undefined);
      await nc.close();
    }
    const pg = new PgClient({ connectionString: POSTGRES_URL });
    await pg.connect().then(
      async () => {
        await pg.query(`DROP SCHEMA IF EXISTS "${this.tag}" CASCADE`);
        await pg.end();
      },
      () => undefined,
    );
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
