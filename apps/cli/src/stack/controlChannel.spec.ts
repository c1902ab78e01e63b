import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sendControlRequest } from './controlClient';
import type { ControlRequest } from './controlProtocol';
import { ControlServer } from './controlServer';
import { STACK_STATE_FILE } from './stackState';

// The client against a real ControlServer on a real socket; the stack behind it is a recording handler.
describe('tandem stack kill|restart → the control socket', () => {
  let dataDir: string;
  let standIn: ChildProcess;
  const server = new ControlServer(async (request: ControlRequest) => {
    received.push(request);
    if (request.node === 'node-z') return { ok: false, code: 'UNKNOWN_NODE', message: 'no node node-z in this stack; its nodes: node-a, node-b' };
    if (request.verb === 'kill' && request.node === 'node-a') return { ok: false, code: 'ALREADY_DOWN', message: 'node-a is already down' };
    return { ok: true, message: `${request.verb} ${request.node} done` };
  });
  const received: ControlRequest[] = [];
  const writeState = (state: object) => fs.writeFileSync(path.join(dataDir, STACK_STATE_FILE), JSON.stringify(state));

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-control-'));
    // stack.json names a live tandem process: this one stands in for the stack.
    standIn = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'tandem-stack-stand-in'], { stdio: 'ignore' });
    await new Promise((resolve) => standIn.once('spawn', resolve));
  });

  afterAll(() => {
    server.close();
    standIn.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('no stack.json, or one whose process is gone: no stack running (exit 2), nothing sent', async () => {
    expect(await sendControlRequest('kill', 'node-b', dataDir)).toEqual({ code: 2, message: expect.stringMatching(/^no tandem stack is running on .*tandem-control-/) });
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeState({ pid: gone.pid, state: 'ready', control: path.join(dataDir, 'stack.sock') });
    expect((await sendControlRequest('kill', 'node-b', dataDir)).code).toBe(2);
    expect(received).toEqual([]);
  });

  it('a stack still starting has no control socket yet: exit 1, try again later', async () => {
    writeState({ pid: standIn.pid, state: 'starting' });
    expect(await sendControlRequest('restart', 'node-b', dataDir)).toEqual({ code: 1, message: expect.stringMatching(/is still starting; try again once it prints "ready"/) });
  });

  it('a live stack whose socket is gone: exit 1, says nobody listens', async () => {
    writeState({ pid: standIn.pid, state: 'ready', control: path.join(dataDir, 'stack.sock') });
    expect(await sendControlRequest('kill', 'node-b', dataDir)).toEqual({ code: 1, message: expect.stringMatching(/did not answer on .*stack\.sock: nobody listens there/) });
  });

  it('carries requests to the stack and its answers back, with their exit codes', async () => {
    const socket = await server.listen(dataDir);
    expect(socket).toBe(path.join(dataDir, 'stack.sock'));
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    writeState({ pid: standIn.pid, state: 'ready', control: socket });
    expect(await sendControlRequest('kill', 'node-b', dataDir)).toEqual({ code: 0, message: 'kill node-b done' });
    expect(await sendControlRequest('restart', 'node-b', dataDir)).toEqual({ code: 0, message: 'restart node-b done' });
    expect(await sendControlRequest('kill', 'node-a', dataDir)).toEqual({ code: 1, message: 'node-a is already down' });
    expect(await sendControlRequest('kill', 'node-z', dataDir)).toEqual({ code: 2, message: 'no node node-z in this stack; its nodes: node-a, node-b' });
    // A name that cannot be a node's never leaves the client.
    expect(await sendControlRequest('kill', 'nodeb', dataDir)).toMatchObject({ code: 2 });
    expect(received.map((r) => `${r.verb} ${r.node}`)).toEqual(['kill node-b', 'restart node-b', 'kill node-a', 'kill node-z']);
    server.close();
    expect(fs.existsSync(socket)).toBe(false);
  });
});
