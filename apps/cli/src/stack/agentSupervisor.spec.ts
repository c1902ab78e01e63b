import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { AgentSupervisor, type SupervisorContext } from './agentSupervisor';
import { StackChild } from './childProcess';
import type { StackNode } from './stackOptions';

/** Polls until `probe` holds, for at most 10 s (the caller's expectations then say what is missing). */
async function eventually(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

// Real child processes stand in for agents; a tiny HTTP server stands in for their /health ("registered").
describe('AgentSupervisor', () => {
  let dir: string;
  let health: http.Server;
  let node: StackNode;
  const launched: StackChild[] = [];
  const said: string[] = [];

  const launch = async (): Promise<StackChild> => {
    const child = new StackChild({ name: 'node-b', command: process.execPath, args: ['-e', 'console.log("agent up"); setInterval(() => {}, 1000)'], logFile: path.join(dir, 'node-b.log'), echo: false });
    await child.start();
    launched.push(child);
    return child;
  };
  const context = (autoRestart: boolean): SupervisorContext => ({
    autoRestart,
    registrationTimeoutMs: 10_000,
    agentStopGraceMs: 2000,
    launch,
    deathWhileStarting: () => said.push('death while starting'),
    say: (t) => said.push(t),
    warn: (t) => said.push(t),
    restartCommand: (name) => `npx tandem stack restart ${name}`,
    changed: () => undefined,
  });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-supervisor-'));
    health = http.createServer((_req, res) => res.end(JSON.stringify({ registration: 'registered' })));
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
    const port = (health.address() as { port: number }).port;
    node = { name: 'node-b', http: { host: '127.0.0.1', port } } as StackNode;
  });

  afterEach(() => {
    for (const c of launched) c.kill();
    launched.length = 0;
    said.length = 0;
  });

  afterAll(() => {
    health.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a kill while supervised: reported with log lines, restarted after 1 s (attempt 1), back and registered', async () => {
    const supervisor = new AgentSupervisor(node, await launch(), context(true));
    supervisor.supervise();
    await eventually(() => supervisor.child.lastLines().includes('agent up'));
    expect(await supervisor.kill()).toMatchObject({ ok: true, message: expect.stringContaining('SIGKILL); the stack restarts it') });
    await eventually(() => supervisor.state === 'restart-pending');
    expect(supervisor.state).toBe('restart-pending');
    expect(await supervisor.kill()).toMatchObject({ ok: false, code: 'ALREADY_DOWN' });
    await eventually(() => said.some((t) => t.includes('node-b is back')));
    expect(said.join('')).toMatch(/died \(signal SIGKILL\)[^]*node-b \| agent up[^]*restarting node-b in 1 s \(attempt 1\)[^]*node-b is back/);
    expect(launched).toHaveLength(2);
    await supervisor.shutdown();
  }, 20_000);

  it('a manual restart while an automatic one is pending replaces it: one new process, not two', async () => {
    const supervisor = new AgentSupervisor(node, await launch(), context(true));
    supervisor.supervise();
    await supervisor.kill();
    await eventually(() => supervisor.state === 'restart-pending');
    expect(supervisor.state).toBe('restart-pending');
    expect(await supervisor.restart()).toMatchObject({ ok: true, message: expect.stringMatching(/^node-b started \(pid \d+\) and registered$/) });
    // Past the pending restart's 1 s: it must not start another agent.
    await new Promise((r) => setTimeout(r, 1500));
    expect(launched).toHaveLength(2);
    expect(supervisor.state).toBe('running');
    await supervisor.shutdown();
  }, 20_000);

  it('--no-restart: a dead agent stays down until restart', async () => {
    const supervisor = new AgentSupervisor(node, await launch(), context(false));
    supervisor.supervise();
    await supervisor.kill();
    await new Promise((r) => setTimeout(r, 1500));
    expect(supervisor.state).toBe('down');
    expect(launched).toHaveLength(1);
    expect(said.join('')).toContain('node-b stays down (--no-restart); bring it back with: npx tandem stack restart node-b');
    expect(await supervisor.restart()).toMatchObject({ ok: true });
    expect(launched).toHaveLength(2);
    await supervisor.shutdown();
  }, 20_000);
});
