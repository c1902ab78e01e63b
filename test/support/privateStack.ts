// A private `tandem stack` as a child process: started on its own data dir, loopback octet and ports, ready or failing
// with its output; its nodes killed or restarted through `tandem stack kill|restart`; GraphQL with its token; stopped.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { run, RunResult, spawnTracked, stopChild, until } from '@tandem/testing';
import { privateStackEnv } from './privateStackEnv';
import { TANDEM_BIN } from './target';

export interface StackState {
  graphql: string;
  clusterId: string;
  nodes: { name: string; nodeId: string; pid: number | null; state: string; http: string }[];
}

export class PrivateStack {
  private output = '';

  private constructor(
    readonly env: NodeJS.ProcessEnv,
    readonly dataDir: string,
    readonly child: ChildProcess,
  ) {
    for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  /**
   * Starts `tandem stack ARGS` with two nodes on 127.0.<octet>.1/.2 and `extraEnv` (e.g. the agents' resync rate:
   * the agents inherit the stack's environment); resolves once it says ready (the boot takes 30-60 s on a busy machine).
   */
  static async start(label: string, octet: number, extraEnv: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<PrivateStack> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tandem-${label}-`));
    const env = { ...(await privateStackEnv(octet, dataDir)), ...extraEnv };
    const child = spawnTracked(process.execPath, [TANDEM_BIN, 'stack', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stack = new PrivateStack(env, dataDir, child);
    try {
      await until(() => /tandem stack: ready/.test(stack.output) || child.exitCode !== null, 'the stack to be ready', 150_000, 250);
    } catch (err) {
      await stack.stop();
      throw new Error(`${(err as Error).message}; the stack said:\n${stack.output}`);
    }
    if (!/tandem stack: ready/.test(stack.output)) {
      await stack.stop();
      throw new Error(`the stack did not start:\n${stack.output}`);
    }
    return stack;
  }

  /** Everything the stack printed so far. */
  said(): string {
    return this.output;
  }

  /** stack.json as the stack wrote it last (nodes' pids and states change as they die and come back). */
  state(): StackState {
    return JSON.parse(fs.readFileSync(path.join(this.dataDir, 'stack.json'), 'utf8')) as StackState;
  }

  get token(): string {
    return this.env.TANDEM_API_TOKEN!;
  }

  /** `tandem stack kill|restart NODE` against this stack's data directory. */
  nodeVerb(verb: 'kill' | 'restart', node: string): Promise<RunResult> {
    return run(process.execPath, [TANDEM_BIN, 'stack', verb, node], { env: this.env, timeoutMs: 200_000 });
  }

  /** A GraphQL request with the stack's token; transport errors and a mutation payload's typed errors throw. */
  async gql<T>(query: string, variables: object = {}): Promise<T> {
    const res = await fetch(this.state().graphql, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
    const refused = Object.values(body.data ?? {}).flatMap((v) => (v as { errors?: { message: string }[] } | null)?.errors ?? []);
    if (refused.length > 0) throw new Error(refused.map((e) => e.message).join('; '));
    return body.data as T;
  }

  /** SIGTERM (SIGKILL past 40 s), then the data directory removed. */
  async stop(): Promise<{ code: number | null; killed: boolean }> {
    const stopped = await stopChild(this.child, 40_000);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    return stopped;
  }
}
