// The whole `tandem stack` restarted on the same data directory (gracefully, then killed outright): an existing HA
// device of two replicas comes back ONLINE on both nodes, keeps its data, and no replica stays blocked.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { findBinary, skipWithReason } from '../support/tools';
import { privateStackEnv } from '../support/privateStackEnv';
import { StackState } from '../support/privateStack';
import { qemuIo } from '../support/qemuIo';
import { TANDEM_BIN } from '../support/target';
import { spawnTracked, stopChild, until } from '@tandem/testing';

const TITLE = 'whole-stack restart';
// Loopback addresses of its own: 127.0.50-59.x (other files use 30-49, 60-249).
const octet = 50 + (process.pid % 10);
const ROUNDS = Number(process.env.TANDEM_STACK_RESTART_ROUNDS ?? 2);

interface DeviceView {
  state: string;
  synchronizedCopies: number;
  health: { reasons: string[] };
  replicas: { node: { name: string }; iscsiUrl: string | null }[];
}

/** One run of `tandem stack` on a data directory and environment that outlive it. */
class StackRun {
  private output = '';
  readonly child: ChildProcess;

  constructor(readonly env: NodeJS.ProcessEnv, readonly dataDir: string) {
    // --no-restart: a node that dies stays dead, so a failure here is not hidden by the stack restarting it.
    this.child = spawnTracked(process.execPath, [TANDEM_BIN, 'stack', '--no-restart'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [this.child.stdout, this.child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  said(): string {
    return this.output;
  }

  async ready(): Promise<void> {
    await until(() => /tandem stack: ready/.test(this.output) || this.child.exitCode !== null, 'the stack to be ready', 150_000, 250).catch(() => undefined);
    if (!/tandem stack: ready/.test(this.output)) throw new Error(`the stack did not start:\n${this.output}`);
  }

  state(): StackState {
    return JSON.parse(fs.readFileSync(path.join(this.dataDir, 'stack.json'), 'utf8')) as StackState;
  }

  async gql<T>(query: string, variables: object = {}): Promise<T> {
    const res = await fetch(this.state().graphql, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.env.TANDEM_API_TOKEN}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data as T;
  }

  /** SIGTERM, as Ctrl-C would; resolves once the stack exited. */
  stop(): Promise<{ code: number | null; killed: boolean }> {
    return stopChild(this.child, 60_000);
  }

  /**
   * SIGKILL of the stack and of every process it started (its node agents, NATS, the database run detached, each in
   * a group of its own): every process whose command line or environment names this run's data directory.
   */
  async killAll(): Promise<void> {
    const pids = processesNaming(this.dataDir);
    for (const pid of [this.child.pid!, ...pids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await until(() => this.child.exitCode !== null || this.child.signalCode !== null, 'the stack gone', 30_000, 100);
    await until(() => processesNaming(this.dataDir).length === 0, 'every process of the stack gone', 30_000, 100);
  }
}

/** Pids (not this test's) whose command line or environment mentions `dir`. */
function processesNaming(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmdline.includes(dir) || environ.includes(dir)) found.push(pid);
    } catch {
      // exited, or not ours to read
    }
  }
  return found;
}

const DEVICE_QUERY = 'query($id: ID!) { device(id: $id) { state synchronizedCopies health { reasons } replicas { node { name } iscsiUrl } } }';

if (!findBinary('nats-server') || !findBinary('qemu-io')) {
  skipWithReason(TITLE, 'nats-server or qemu-io missing');
} else {
  describe(TITLE, () => {
    let dataDir = '';
    let env: NodeJS.ProcessEnv = {};
    let stack: StackRun | undefined;
    let deviceId = '';
    let pattern = 0x11;

    const device = () => stack!.gql<{ device: DeviceView }>(DEVICE_QUERY, { id: deviceId }).then((d) => d.device);
    const logsOf = () =>
      ['node-a', 'node-b']
        .map((n) => {
          const file = path.join(dataDir, 'logs', `${n}.log`);
          const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => /HA|block|serv|sync/i.test(l)) : [];
          return `--- ${n}:\n${lines.slice(-40).join('\n')}`;
        })
        .join('\n');

    /** ONLINE with two synchronized copies, within the bound a restart needs; says why not, with the nodes' logs. */
    async function online(what: string): Promise<DeviceView> {
      let last: DeviceView | undefined;
      try {
        return await until(
          async () => {
            last = await device().catch(() => undefined);
            return last?.state === 'ONLINE' && last.synchronizedCopies === 2 ? last : undefined;
          },
          what,
          120_000,
          500,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}\n${logsOf()}\n--- stack:\n${stack?.said().slice(-3000)}`);
      }
    }

    /** Writes a fresh pattern through node-a, then reads it back through node-b: both replicas serve the data. */
    async function writeAndReadBoth(view: DeviceView): Promise<void> {
      const url = (name: string) => view.replicas.find((r) => r.node.name === name)?.iscsiUrl;
      expect(url('node-a')).toMatch(/^iscsi:\/\//);
      expect(url('node-b')).toMatch(/^iscsi:\/\//);
      const before = pattern;
      await expect(qemuIo(url('node-b')!, [`read -P ${before} 0 1M`], 60_000)).resolves.toMatchObject({ ok: true });
      pattern += 1;
      const wrote = await qemuIo(url('node-a')!, [`write -P ${pattern} 0 1M`], 60_000);
      expect(wrote).toMatchObject({ ok: true });
      const read = await until(async () => ((await qemuIo(url('node-b')!, [`read -P ${pattern} 0 1M`], 60_000)).ok ? true : undefined), 'node-b reading what node-a wrote', 30_000, 500);
      expect(read).toBe(true);
    }

    beforeAll(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-stack-restart-'));
      env = { ...(await privateStackEnv(octet, dataDir)), TANDEM_LOG_LEVEL: 'info' };
      stack = new StackRun(env, dataDir);
      await stack.ready();
      const [a, b] = ['node-a', 'node-b'].map((name) => stack!.state().nodes.find((n) => n.name === name)!.nodeId);
      const created = await stack.gql<{ createHaDevice: { aggregateId: string; errors: { message: string }[] } }>(
        'mutation($i: CreateHaDeviceInput!) { createHaDevice(input: $i) { aggregateId errors { ... on UserError { code message } } } }',
        { i: { clusterId: stack.state().clusterId, name: 'restart-ha', sizeBytes: 64 << 20, replicas: [{ nodeId: a, priority: 200 }, { nodeId: b, priority: 100 }] } },
      );
      expect(created.createHaDevice.errors).toEqual([]);
      deviceId = created.createHaDevice.aggregateId;
      const view = await online('the new HA device ONLINE');
      const wrote = await qemuIo(view.replicas.find((r) => r.node.name === 'node-a')!.iscsiUrl!, [`write -P ${pattern} 0 1M`], 60_000);
      expect(wrote).toMatchObject({ ok: true });
    }, 300_000);

    afterAll(async () => {
      if (stack) await stack.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }, 90_000);

    for (let round = 1; round <= ROUNDS; round++) {
      it(`graceful stop (SIGTERM) and start again, round ${round}: the HA device ONLINE, both replicas serving its data`, async () => {
        const stopped = await stack!.stop();
        expect(stopped).toMatchObject({ code: 0, killed: false });
        stack = new StackRun(env, dataDir);
        await stack.ready();
        await writeAndReadBoth(await online(`the HA device ONLINE after graceful restart ${round}`));
      }, 400_000);
    }

    for (let round = 1; round <= ROUNDS; round++) {
      it(`every process of the stack killed (SIGKILL) and started again, round ${round}: the HA device ONLINE, both replicas serving its data`, async () => {
        await stack!.killAll();
        stack = new StackRun(env, dataDir);
        await stack.ready();
        await writeAndReadBoth(await online(`the HA device ONLINE after kill and restart ${round}`));
      }, 400_000);
    }
  });
}
