/**
 * `tandem stack`: the whole local stack in one command. NATS (NATS_URL, or a private nats-server), the orchestrator
 * and the GraphQL gateway in this process sharing one open database (DATABASE_URL, or the embedded PGlite, which
 * allows a single opener), and one node agent child process per loopback address. Once every node has registered,
 * a demo site and cluster hold them, and the stack prints how to use it.
 *
 * Stopping (SIGINT, SIGTERM, SIGHUP): agents (SIGTERM, bounded wait), gateway, orchestrator, the private
 * nats-server; exit 0. Once ready, a node agent that dies is reported with the last lines of its log and restarted
 * with backoff (1 s, 2 s, 4 s … 30 s; agentSupervisor.ts), or left down under --no-restart; the rest keeps running,
 * so a failover can be watched. `tandem stack kill|restart NODE` reach the stack over a unix socket named in
 * stack.json (controlServer.ts). The private nats-server dying, or an agent dying before ready, stops the whole
 * stack (exit 1). Bad environment (busy port, missing nats-server, unreachable NATS_URL or DATABASE_URL): one line
 * on stderr, exit 2, nothing left running.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConsoleLogger, type INestApplication, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import type { CommandBus, ReadModels } from '@tandem/orchestrator';
import { loadOrCreateApiToken, type ApiToken } from './apiToken';
import { AgentSupervisor } from './agentSupervisor';
import { describeExit, type ChildExit, type StackChild } from './childProcess';
import type { ControlReply, ControlRequest } from './controlProtocol';
import { ControlServer } from './controlServer';
import { ensureDemoFleet, type DemoFleet } from './demoFleet';
import { readyReport } from './readyReport';
import { checkExternalNats, NATS_HOST, startPrivateNats } from './natsServer';
import { AgentStartError, startAgent, waitForRegistration } from './nodeAgents';
import { checkDatabase, ensureFree, findNatsServer, freePort } from './preflight';
import { formatEndpoint, STACK_DEFAULTS, StackConfigError, type StackOptions } from './stackOptions';
import { StackStateFileOwner } from './stackState';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_ENVIRONMENT = 2;

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
  private agents: AgentSupervisor[] = [];
  private readonly control = new ControlServer((request) => this.onControlRequest(request));
  /** What stack.json says once ready, apart from the nodes' pids and states (rewritten when those change). */
  private readyState: Record<string, unknown> | null = null;
  private outcome: Outcome | null = null;
  private wake: () => void = () => undefined;
  private readonly finished = new Promise<void>((resolve) => (this.wake = resolve));
  private readonly stateFile: StackStateFileOwner;
  /** When the first stop signal came (0: none yet). */
  private firstSignalAt = 0;
  private ready = false;

  constructor(
    private readonly options: StackOptions,
    private readonly out: (text: string) => void = (t) => process.stdout.write(t),
    private readonly err: (text: string) => void = (t) => process.stderr.write(t),
  ) {
    this.stateFile = new StackStateFileOwner(options.dataDir);
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
    this.control.close();
    this.stateFile.remove();
    process.exit(EXIT_FAILURE);
  }

  /** Every step checks for a stop in between: a Ctrl-C during start-up stops what has started so far. */
  private async start(): Promise<void> {
    const o = this.options;
    fs.mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    this.stateFile.claim();

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
    const natsUrl = this.nats.url;
    const launch = (node: (typeof o.nodes)[number]) => startAgent(node, agentMain, natsUrl, o.dataDir, o.verbose).then((a) => a.child);
    for (const node of o.nodes) {
      this.agents.push(
        new AgentSupervisor(node, await launch(node), {
          autoRestart: o.autoRestart,
          registrationTimeoutMs: o.registrationTimeoutMs,
          agentStopGraceMs: AGENT_STOP_GRACE_MS,
          launch,
          deathWhileStarting: (child, exit) => this.onChildDeath(child, exit, node.name),
          say: (text) => this.out(text),
          warn: (text) => this.err(text),
          restartCommand: (name) => this.nodeCommand('restart', name),
          changed: () => this.writeState(),
        }),
      );
    }
    const deadline = Date.now() + o.registrationTimeoutMs;
    const registered = await Promise.all(this.agents.map((a) => waitForRegistration(a.agent, deadline, () => this.stopping)));
    if (this.stopping) return;

    // 4. The demo site and cluster, the nodes in it.
    const fleet = await ensureDemoFleet(
      bus,
      readModels,
      this.agents.map((a, i) => ({ name: a.node.name, nodeId: registered[i].nodeId })),
    );
    if (this.stopping) return;

    // 5. From here a dead agent is reported and restarted, and `tandem stack kill|restart` may ask for it.
    const control = await this.control.listen(o.dataDir);
    if (this.stopping) return;
    this.readyState = this.describeReady(graphqlUrl, fleet, control);
    for (const a of this.agents) a.supervise();
    this.writeState();
    this.ready = true;
    this.out(readyReport({ options: this.options, nats: this.nats!, graphqlUrl, token, fleet, nodeCommand: (verb, node) => this.nodeCommand(verb, node) }));
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
    const { ORCHESTRATOR_DATABASE, OrchestratorObservability } = await import('@tandem/orchestrator');
    const gw = await import('@tandem/gateway');
    const { gateway } = this.options;
    let settings;
    try {
      settings = gw.settingsFromEnv(process.env, { apiToken: token.token, host: gateway.host, port: gateway.port, databaseUrl: this.options.databaseUrl, dataDir: this.options.dataDir, natsUrl });
    } catch (error) {
      throw new StackConfigError((error as Error).message);
    }
    const app = await NestFactory.create(gw.GatewayModule.forRoot(settings, { database: orchestrator.get(ORCHESTRATOR_DATABASE), orchestrator: orchestrator.get(OrchestratorObservability) }), {
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

  /** The private nats-server ending on its own stops the whole stack. */
  private watch(child: StackChild, what: string): void {
    child.onUnexpectedExit = (exit) => this.onChildDeath(child, exit, what);
  }

  /**
   * The nats-server, or an agent before the stack is ready, ending on its own stops the whole stack. While starting,
   * an agent that exits 2 said its environment is wrong (e.g. `cannot listen on …`): one line and exit 2.
   */
  private onChildDeath(child: StackChild, exit: ChildExit, what: string): void {
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
  }

  private async onControlRequest(request: ControlRequest): Promise<ControlReply> {
    if (this.stopping) return { ok: false, code: 'STOPPING', message: 'the stack is stopping' };
    const agent = this.agents.find((a) => a.name === request.node);
    if (!agent) return { ok: false, code: 'UNKNOWN_NODE', message: `no node ${request.node} in this stack; its nodes: ${this.agents.map((a) => a.name).join(', ')}` };
    return request.verb === 'kill' ? agent.kill() : agent.restart();
  }

  /** `npx tandem stack restart node-b`, with the data directory when it is not the default one. */
  private nodeCommand(verb: 'kill' | 'restart', node: string): string {
    const defaultDir = path.resolve(STACK_DEFAULTS.dataDir);
    return `npx tandem stack ${verb} ${node}${this.options.dataDir === defaultDir ? '' : ` --data-dir ${this.options.dataDir}`}`;
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
    this.control.close();
    const hardStop = setTimeout(() => {
      this.err(`tandem stack: shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s; killing what is left\n`);
      this.killChildren();
      this.stateFile.remove();
      process.exit(EXIT_FAILURE);
    }, SHUTDOWN_LIMIT_MS);
    hardStop.unref();
    let code = outcome.code;
    try {
      const stopped = await Promise.all(this.agents.map(async (a) => ({ a, exit: await a.shutdown() })));
      for (const { a, exit } of stopped) if (exit.killed) this.err(`tandem stack: ${a.node.name} did not stop within ${AGENT_STOP_GRACE_MS / 1000} s of SIGTERM; killed\n`);
      if (!(await this.closeApp(this.gateway, 'gateway')) && code === EXIT_OK) code = EXIT_FAILURE;
      if (!(await this.closeApp(this.orchestrator, 'orchestrator')) && code === EXIT_OK) code = EXIT_FAILURE;
      if (this.nats?.child) {
        const exit = await this.nats.child.stop(NATS_STOP_GRACE_MS);
        if (exit.killed) this.err(`tandem stack: nats-server did not stop within ${NATS_STOP_GRACE_MS / 1000} s; killed\n`);
      }
    } finally {
      clearTimeout(hardStop);
      this.stateFile.remove();
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
    for (const a of this.agents) a.killNow();
    this.nats?.child?.kill();
  }

  private describeReady(graphqlUrl: string, fleet: DemoFleet, control: string): Record<string, unknown> {
    return {
      pid: process.pid,
      state: 'ready',
      graphql: graphqlUrl,
      control,
      nats: { url: this.nats?.url, pid: this.nats?.child?.pid ?? null, private: Boolean(this.nats?.child) },
      database: this.options.databaseUrl ? 'postgres' : path.join(this.options.dataDir, 'pgdata'),
      siteId: fleet.siteId,
      clusterId: fleet.clusterId,
      nodeIds: Object.fromEntries(fleet.nodes.map((n) => [n.name, n.nodeId])),
    };
  }

  /** stack.json once ready: the facts above and every node's current pid and state. */
  private writeState(): void {
    if (!this.readyState) return;
    const { nodeIds, ...ready } = this.readyState as { nodeIds: Record<string, string> };
    const nodes = this.agents.map((a) => ({
      name: a.name,
      nodeId: nodeIds[a.name],
      pid: a.state === 'running' ? (a.child.pid ?? null) : null,
      state: a.state,
      iscsi: formatEndpoint(a.node.iscsi),
      http: formatEndpoint(a.node.http),
    }));
    this.stateFile.write({ ...ready, pid: process.pid, state: 'ready', nodes });
  }
}

class StackLogger extends ConsoleLogger {
  override error(message: unknown, ...rest: unknown[]): void {
    if (rest[rest.length - 1] === 'ExceptionHandler') return;
    super.error(message, ...rest);
  }
}
