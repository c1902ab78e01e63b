/**
 * `tandem stack`: the whole local stack in one command. NATS (NATS_URL, or a private nats-server), the orchestrator
 * and the GraphQL gateway in this process sharing one open database (DATABASE_URL, or the embedded PGlite, which
 * allows a single opener), and one node agent child process per loopback address. Once every node has registered,
 * a demo site and cluster hold them, and the stack prints how to use it.
 *
 * Stopping (SIGINT, SIGTERM, SIGHUP): agents (SIGTERM, bounded wait), gateway, orchestrator, the private
 * nats-server; exit 0. A child that dies on its own is reported and the whole stack stops (exit 1): a half stack
 * that looks alive is worse than a clear stop. Bad environment (busy port, missing nats-server, unreachable
 * NATS_URL or DATABASE_URL): one line on stderr, exit 2, nothing left running.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConsoleLogger, type INestApplication, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import type { CommandBus, ReadModels } from '@tandem/orchestrator';
import { loadOrCreateApiToken, type ApiToken } from './apiToken';
import { describeExit, type StackChild } from './childProcess';
import { ensureDemoFleet, type DemoFleet } from './demoFleet';
import { checkExternalNats, NATS_HOST, startPrivateNats } from './natsServer';
import { AgentStartError, startAgent, waitForRegistration, type RunningAgent } from './nodeAgents';
import { checkDatabase, ensureFree, findNatsServer, freePort } from './preflight';
import { formatEndpoint, StackConfigError, type StackOptions } from './stackOptions';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_ENVIRONMENT = 2;

/** `<dataDir>/stack.json`: this stack's pid and its children's, while it runs (a second stack on the same data refuses). */
export const STACK_STATE_FILE = 'stack.json';

const AGENT_STOP_GRACE_MS = 6000;
const NATS_STOP_GRACE_MS = 5000;
const APP_CLOSE_LIMIT_MS = 10_000;
/** A repeated signal within this long of the first is the same Ctrl-C (see onSignal), not a request to kill. */
const SIGNAL_ECHO_MS = 1500;
/** Past this, whatever is still running is killed and the stack exits 1. */
const SHUTDOWN_LIMIT_MS = 30_000;

type Outcome = { code: number; message?: string };

export class Stack {
  private nats: { url: string; child: StackChild | null } | null = null;
  private orchestrator: INestApplicationContext | null = null;
  private gateway: INestApplication | null = null;
  private agents: RunningAgent[] = [];
  private outcome: Outcome | null = null;
  private wake: () => void = () => undefined;
  private readonly finished = new Promise<void>((resolve) => (this.wake = resolve));
  private stateFile: string;
  private ownsStateFile = false;
  /** When the first stop signal came (0: none yet). */
  private firstSignalAt = 0;
  private ready = false;

  constructor(
    private readonly options: StackOptions,
    private readonly out: (text: string) => void = (t) => process.stdout.write(t),
    private readonly err: (text: string) => void = (t) => process.stderr.write(t),
  ) {
    this.stateFile = path.join(options.dataDir, STACK_STATE_FILE);
  }

  /** Runs until a signal or a failure; resolves with the exit code once everything has stopped. */
  async run(): Promise<number> {
    // Nest colours its log lines unless NO_COLOR is set: keep escape codes out of files and pipes.
    if (!process.stderr.isTTY) process.env.NO_COLOR ??= '1';
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
    try {
      try {
        await this.start();
      } catch (error) {
        this.finish(this.startFailure(error));
      }
      await this.finished;
      return await this.shutdown();
    } finally {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, onSignal);
    }
  }

  private get stopping(): boolean {
    return this.outcome !== null;
  }

  private finish(outcome: Outcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.wake();
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.firstSignalAt === 0) {
      this.firstSignalAt = Date.now();
      this.out(`\ntandem stack: ${signal}: stopping (node agents, gateway, orchestrator${this.nats?.child ? ', nats-server' : ''}); Ctrl-C again to kill at once\n`);
      this.finish({ code: EXIT_OK });
      return;
    }
    // One Ctrl-C under `npm start` arrives twice: from the terminal (to the whole process group) and forwarded by npm.
    if (Date.now() - this.firstSignalAt < SIGNAL_ECHO_MS) return;
    this.err(`tandem stack: ${signal} again: killing the children\n`);
    this.killChildren();
    this.removeStateFile();
    process.exit(EXIT_FAILURE);
  }

  /** Every step checks for a stop in between: a Ctrl-C during start-up stops what has started so far. */
  private async start(): Promise<void> {
    const o = this.options;
    fs.mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    this.claimDataDir();

    // Preflight: everything that can be checked before starting anything.
    const natsBinary = o.natsUrl ? undefined : findNatsServer(o.natsServerBinary);
    await ensureFree(o.gateway, 'GraphQL gateway', 'is another stack running? Stop it, or use --gateway / TANDEM_GATEWAY_LISTEN');
    for (const node of o.nodes) {
      await ensureFree(node.iscsi, `${node.name} iSCSI portal`, 'is another target running (tandem serve, tgtd)? Stop it, or use --nodes / --iscsi-port');
      await ensureFree(node.http, `${node.name} health and metrics`, 'stop what listens there, or use --http-port');
      await ensureFree(node.sync, `${node.name} HA sync link`, 'stop what listens there, or use --sync-port');
    }
    if (!o.natsUrl && o.natsPort !== 0) {
      await ensureFree({ host: NATS_HOST, port: o.natsPort }, 'private nats-server', 'is another stack running? Stop it, use --nats-port / TANDEM_STACK_NATS_PORT (0: any free port), or set NATS_URL');
    }
    if (o.natsUrl) await checkExternalNats(o.natsUrl);
    if (o.databaseUrl) await checkDatabase(o.databaseUrl);
    const token = loadOrCreateApiToken(o.dataDir, o.apiToken);
    if (this.stopping) return;

    // 1. NATS
    if (natsBinary) {
      const port = o.natsPort === 0 ? await freePort(NATS_HOST) : o.natsPort;
      const nats = await startPrivateNats(natsBinary, o.dataDir, port, o.verbose);
      this.nats = nats;
      this.watch(nats.child, 'nats-server');
    } else {
      this.nats = { url: o.natsUrl!, child: null };
    }
    if (this.stopping) return;

    // 2. Orchestrator and gateway, one process, one database.
    const { orchestrator, bus, readModels } = await this.startOrchestrator(this.nats.url);
    if (this.stopping) return;
    const graphqlUrl = await this.startGateway(orchestrator, this.nats.url, token);
    if (this.stopping) return;

    // 3. Node agents, then their registration (RegisterNode over NATS to the orchestrator above).
    const agentMain = require.resolve('@tandem/node-agent');
    for (const node of o.nodes) {
      const agent = await startAgent(node, agentMain, this.nats.url, o.dataDir, o.verbose);
      this.agents.push(agent);
      this.watch(agent.child, agent.node.name);
    }
    const deadline = Date.now() + o.registrationTimeoutMs;
    const registered = await Promise.all(this.agents.map((a) => waitForRegistration(a, deadline, () => this.stopping)));
    if (this.stopping) return;

    // 4. The demo site and cluster, the nodes in it.
    const fleet = await ensureDemoFleet(
      bus,
      readModels,
      this.agents.map((a, i) => ({ name: a.node.name, nodeId: registered[i].nodeId })),
    );
    if (this.stopping) return;

    this.writeState({ graphqlUrl, fleet });
    this.ready = true;
    this.printReady(graphqlUrl, token, fleet);
  }

  private async startOrchestrator(natsUrl: string): Promise<{ orchestrator: INestApplicationContext; bus: CommandBus; readModels: ReadModels }> {
    // Loaded on use, as `tandem events` does: `tandem serve` stays free of the control plane.
    const { NestFactory } = await import('@nestjs/core');
    const orch = await import('@tandem/orchestrator');
    const settings = orch.settingsFromEnv(process.env, { databaseUrl: this.options.databaseUrl, dataDir: this.options.dataDir, natsUrl });
    let app: INestApplicationContext | undefined;
    try {
      app = await NestFactory.createApplicationContext(orch.OrchestratorModule.forRoot(settings), { logger: this.logger(), abortOnError: false });
      this.orchestrator = app;
      await app.init();
    } catch (error) {
      throw new StackConfigError(
        `orchestrator: ${(error as Error).message}${this.options.databaseUrl ? ' (is DATABASE_URL right?)' : ` (embedded database in ${path.join(this.options.dataDir, 'pgdata')})`}`,
      );
    }
    return { orchestrator: app, bus: app.get(orch.CommandBus), readModels: app.get(orch.ReadModels) };
  }

  /** The gateway on the orchestrator's open database (bootstrapGateway's steps, without its own signal handlers). */
  private async startGateway(orchestrator: INestApplicationContext, natsUrl: string, token: ApiToken): Promise<string> {
    const { NestFactory } = await import('@nestjs/core');
    const { ORCHESTRATOR_DATABASE } = await import('@tandem/orchestrator');
    const gw = await import('@tandem/gateway');
    const { gateway } = this.options;
    let settings;
    try {
      settings = gw.settingsFromEnv(process.env, { apiToken: token.token, host: gateway.host, port: gateway.port, databaseUrl: this.options.databaseUrl, dataDir: this.options.dataDir, natsUrl });
    } catch (error) {
      throw new StackConfigError((error as Error).message);
    }
    const app = await NestFactory.create(gw.GatewayModule.forRoot(settings, { database: orchestrator.get(ORCHESTRATOR_DATABASE) }), {
      logger: this.logger(),
      abortOnError: false,
    });
    this.gateway = app;
    try {
      await app.listen(settings.port, settings.host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new StackConfigError(`${formatEndpoint(gateway)} (GraphQL gateway): ${code === 'EADDRINUSE' ? 'already in use' : (error as Error).message}`);
    }
    return `http://${formatEndpoint(gateway)}${settings.path}`;
  }

  /** Nest's logger, minus its ExceptionHandler dump of a failed start: the stack reports that in one line. */
  private logger(): LoggerService {
    return new StackLogger('', { logLevels: this.options.verbose ? ['error', 'warn', 'log'] : ['error', 'warn'] });
  }

  /**
   * A child that ends on its own stops the whole stack. While starting, an agent that exits 2 said its environment
   * is wrong (e.g. `cannot listen on …`): that is one line and exit 2, like the stack's own checks.
   */
  private watch(child: StackChild, what: string): void {
    child.onUnexpectedExit = (exit) => {
      if (this.stopping) return;
      const last = child.lastLines();
      if (!this.ready && exit.code === 2) {
        const said = last.filter((l) => /^node-agent: /.test(l)).pop() ?? last.pop() ?? describeExit(exit);
        this.finish({ code: EXIT_BAD_ENVIRONMENT, message: `${what}: ${said.replace(/^node-agent: /, '')} (log: ${child.logFile()})` });
        return;
      }
      this.err(
        `tandem stack: ${what} (pid ${child.pid}) stopped unexpectedly (${describeExit(exit)}); stopping the stack. Its log: ${child.logFile()}\n` +
          (last.length ? `${last.slice(-8).map((l) => `  ${child.name} | ${l}`).join('\n')}\n` : ''),
      );
      this.finish({ code: EXIT_FAILURE });
    };
  }

  private startFailure(error: unknown): Outcome {
    if (error instanceof StackConfigError) return { code: EXIT_BAD_ENVIRONMENT, message: error.message };
    if (this.stopping) return this.outcome!;
    if (error instanceof AgentStartError) return { code: EXIT_FAILURE, message: `${error.message} (log: ${error.agent.child.logFile()})` };
    return { code: EXIT_FAILURE, message: (error as Error).message ?? String(error) };
  }

  /** Stops what runs, in order; every wait bounded. Returns the exit code. */
  private async shutdown(): Promise<number> {
    const outcome = this.outcome ?? { code: EXIT_OK };
    if (outcome.message) this.err(`tandem stack: ${outcome.message}\n`);
    const hardStop = setTimeout(() => {
      this.err(`tandem stack: shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s; killing what is left\n`);
      this.killChildren();
      this.removeStateFile();
      process.exit(EXIT_FAILURE);
    }, SHUTDOWN_LIMIT_MS);
    hardStop.unref();
    let code = outcome.code;
    try {
      const stopped = await Promise.all(this.agents.map(async (a) => ({ a, exit: await a.child.stop(AGENT_STOP_GRACE_MS) })));
      for (const { a, exit } of stopped) if (exit.killed) this.err(`tandem stack: ${a.node.name} did not stop within ${AGENT_STOP_GRACE_MS / 1000} s of SIGTERM; killed\n`);
      if (!(await this.closeApp(this.gateway, 'gateway')) && code === EXIT_OK) code = EXIT_FAILURE;
      if (!(await this.closeApp(this.orchestrator, 'orchestrator')) && code === EXIT_OK) code = EXIT_FAILURE;
      if (this.nats?.child) {
        const exit = await this.nats.child.stop(NATS_STOP_GRACE_MS);
        if (exit.killed) this.err(`tandem stack: nats-server did not stop within ${NATS_STOP_GRACE_MS / 1000} s; killed\n`);
      }
    } finally {
      clearTimeout(hardStop);
      this.removeStateFile();
    }
    if (outcome.code === EXIT_OK && this.firstSignalAt > 0) this.out('tandem stack: stopped\n');
    return code;
  }

  private async closeApp(app: INestApplicationContext | null, what: string): Promise<boolean> {
    if (!app) return true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        app.close(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`did not close within ${APP_CLOSE_LIMIT_MS / 1000} s`)), APP_CLOSE_LIMIT_MS))),
      ]);
      return true;
    } catch (error) {
      this.err(`tandem stack: ${what}: ${(error as Error).message}\n`);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private killChildren(): void {
    for (const a of this.agents) a.child.kill();
    this.nats?.child?.kill();
  }

  /** One stack per data directory: the embedded database has a single opener, and the children share state dirs. */
  private claimDataDir(): void {
    try {
      const previous = JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as { pid?: number };
      if (typeof previous.pid === 'number' && previous.pid !== process.pid && processAlive(previous.pid)) {
        throw new StackConfigError(`another tandem stack (pid ${previous.pid}) is running on ${this.options.dataDir}; stop it first (Ctrl-C there, or kill ${previous.pid})`);
      }
    } catch (error) {
      if (error instanceof StackConfigError) throw error;
      // no state file, or a stale or unreadable one: ours now
    }
    fs.writeFileSync(this.stateFile, `${JSON.stringify({ pid: process.pid, state: 'starting', startedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
    this.ownsStateFile = true;
  }

  private writeState(ready: { graphqlUrl: string; fleet: DemoFleet }): void {
    const state = {
      pid: process.pid,
      state: 'ready',
      graphql: ready.graphqlUrl,
      nats: { url: this.nats?.url, pid: this.nats?.child?.pid ?? null, private: Boolean(this.nats?.child) },
      database: this.options.databaseUrl ? 'postgres' : path.join(this.options.dataDir, 'pgdata'),
      siteId: ready.fleet.siteId,
      clusterId: ready.fleet.clusterId,
      nodes: this.agents.map((a) => ({
        name: a.node.name,
        nodeId: ready.fleet.nodes.find((n) => n.name === a.node.name)?.nodeId,
        pid: a.child.pid,
        iscsi: formatEndpoint(a.node.iscsi),
        http: formatEndpoint(a.node.http),
      })),
    };
    fs.writeFileSync(this.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  }

  private removeStateFile(): void {
    if (!this.ownsStateFile) return;
    this.ownsStateFile = false;
    fs.rmSync(this.stateFile, { force: true });
  }

  private printReady(graphqlUrl: string, token: ApiToken, fleet: DemoFleet): void {
    const o = this.options;
    const first = fleet.nodes.find((n) => n.inCluster) ?? fleet.nodes[0];
    const firstNode = o.nodes.find((n) => n.name === first.name)!;
    // `tandem events tail` reads the same environment: repeat what differs from the defaults.
    const natsEnv = [`NATS_URL=${this.nats!.url}`, ...['TANDEM_SUBJECT_PREFIX', 'TANDEM_EVENTS_STREAM'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`)].join(' ');
    const tokenWhere = token.source === 'environment' ? 'from TANDEM_API_TOKEN' : `${token.source === 'generated' ? 'generated, ' : ''}kept in ${token.file}`;
    const mutation = 'mutation($input: CreateDeviceInput!) { createDevice(input: $input) { aggregateId device { id name sizeBytes } } }';
    const body = JSON.stringify({
      query: mutation,
      variables: { input: { clusterId: fleet.clusterId, name: 'disk1', sizeBytes: 1024 ** 3, replicas: [{ nodeId: first.nodeId, priority: 100 }] } },
    });
    const nodeLines = fleet.nodes.map((n) => {
      const node = o.nodes.find((s) => s.name === n.name)!;
      return `    ${n.name}  ${n.nodeId}  iSCSI ${formatEndpoint(node.iscsi)}  health http://${formatEndpoint(node.http)}/health${n.inCluster ? '' : `  (${n.note})`}`;
    });
    this.out(
      [
        '',
        `tandem stack: ready (pid ${process.pid}, data in ${o.dataDir})`,
        '',
        `  GraphQL   ${graphqlUrl}   (reads open on loopback; mutations need the token)`,
        `  API token ${token.token}   (${tokenWhere})`,
        `  NATS      ${this.nats!.url}${this.nats!.child ? `   (private nats-server, JetStream store ${path.join(o.dataDir, 'nats')})` : '   (NATS_URL)'}`,
        `  Database  ${o.databaseUrl ? 'DATABASE_URL (Postgres)' : `embedded PGlite in ${path.join(o.dataDir, 'pgdata')}`}`,
        `  Site ${fleet.siteId} "demo", cluster ${fleet.clusterId} "demo":`,
        ...nodeLines,
        `  Logs      ${path.join(o.dataDir, 'logs')}/`,
        '',
        `  Create a 1 GiB disk on ${first.name}:`,
        `    curl -s ${graphqlUrl} -H 'content-type: application/json' -H 'authorization: Bearer ${token.token}' \\`,
        `      -d '${body}'`,
        '  The nodes and where their disks are:',
        `    curl -s ${graphqlUrl} -H 'content-type: application/json' -d '{"query":"{ nodes { id name clusterId portals { host port } devices { id name } } }"}'`,
        `  ${first.name}'s targets (a device appears as iqn.2026-11.io.tandem:<deviceId> once exported):`,
        `    iscsi-ls -s iscsi://${formatEndpoint(firstNode.iscsi)}`,
        '  The event stream:',
        `    ${natsEnv} npx tandem events tail`,
        '',
        '  Ctrl-C stops everything.',
        '',
      ].join('\n') + '\n',
    );
  }
}

class StackLogger extends ConsoleLogger {
  override error(message: unknown, ...rest: unknown[]): void {
    if (rest[rest.length - 1] === 'ExceptionHandler') return;
    super.error(message, ...rest);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A recycled pid is not a stack: only a live `tandem … stack` process holds the directory.
  try {
    return /tandem/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true;
  }
}
