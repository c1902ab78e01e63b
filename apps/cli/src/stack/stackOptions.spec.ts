import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadOrCreateApiToken } from './apiToken';
import { writeAgentConfig } from './nodeAgents';
import { KNOWN_TANDEM_VARIABLES } from '@tandem/contracts';
import { resolveDataDir, StackConfigError, stackEnvSchema, stackOptionsFrom } from './stackOptions';

describe('stackOptionsFrom', () => {
  it('defaults: .tandem, gateway 127.0.0.1:4000, private NATS on 4250, node-a/node-b on 127.0.0.11/12 ports 3260/3261', () => {
    const o = stackOptionsFrom({}, {}, '/work');
    expect(o).toMatchObject({ dataDir: '/work/.tandem', gateway: { host: '127.0.0.1', port: 4000 }, natsUrl: undefined, natsPort: 4250, databaseUrl: undefined, apiToken: undefined, verbose: false });
    expect(o.nodes).toEqual([
      {
        name: 'node-a',
        iscsi: { host: '127.0.0.11', port: 3260 },
        http: { host: '127.0.0.11', port: 3261 },
        portalGroupTag: 1,
        sync: { host: '127.0.0.11', port: 3262 },
        heartbeat: { host: '127.0.0.11', port: 3263 },
        stateDir: '/work/.tandem/nodes/node-a',
        configPath: '/work/.tandem/nodes/node-a/node.json',
      },
      {
        name: 'node-b',
        iscsi: { host: '127.0.0.12', port: 3260 },
        http: { host: '127.0.0.12', port: 3261 },
        portalGroupTag: 2,
        sync: { host: '127.0.0.12', port: 3262 },
        heartbeat: { host: '127.0.0.12', port: 3263 },
        stateDir: '/work/.tandem/nodes/node-b',
        configPath: '/work/.tandem/nodes/node-b/node.json',
      },
    ]);
  });

  it('takes the environment, and flags over the environment', () => {
    const env = {
      TANDEM_DATA_DIR: '/data',
      TANDEM_GATEWAY_LISTEN: '127.0.0.1:4100',
      TANDEM_STACK_NATS_PORT: '0',
      TANDEM_STACK_NODES: '127.0.0.21, 127.0.0.22,127.0.0.23',
      TANDEM_STACK_ISCSI_PORT: '13260',
      TANDEM_STACK_HTTP_PORT: '13261',
      NATS_URL: 'nats://127.0.0.1:4222',
      DATABASE_URL: 'postgres://x@127.0.0.1/db',
      TANDEM_API_TOKEN: 'a-token-of-some-length',
    };
    const o = stackOptionsFrom({ gateway: '127.0.0.1:4200' }, env, '/work');
    expect(o).toMatchObject({ dataDir: '/data', gateway: { port: 4200 }, natsPort: 0, natsUrl: 'nats://127.0.0.1:4222', databaseUrl: 'postgres://x@127.0.0.1/db', apiToken: 'a-token-of-some-length' });
    expect(o.nodes.map((n) => [n.name, n.iscsi.host, n.iscsi.port, n.http.port])).toEqual([
      ['node-a', '127.0.0.21', 13260, 13261],
      ['node-b', '127.0.0.22', 13260, 13261],
      ['node-c', '127.0.0.23', 13260, 13261],
    ]);
  });

  it('restarts dead agents unless --no-restart or TANDEM_STACK_NO_RESTART=1', () => {
    expect(stackOptionsFrom({}, {}, '/work').autoRestart).toBe(true);
    expect(stackOptionsFrom({ restart: true }, {}, '/work').autoRestart).toBe(true);
    expect(stackOptionsFrom({ restart: false }, {}, '/work').autoRestart).toBe(false);
    expect(stackOptionsFrom({ restart: true }, { TANDEM_STACK_NO_RESTART: '1' }, '/work').autoRestart).toBe(false);
    expect(stackOptionsFrom({}, { TANDEM_STACK_NO_RESTART: '0' }, '/work').autoRestart).toBe(true);
  });

  it('finds the data directory as kill and restart do: --data-dir, TANDEM_DATA_DIR, .tandem', () => {
    expect(resolveDataDir({}, {}, '/work')).toBe('/work/.tandem');
    expect(resolveDataDir({}, { TANDEM_DATA_DIR: 'demo' }, '/work')).toBe('/work/demo');
    expect(resolveDataDir({ dataDir: '/srv/t' }, { TANDEM_DATA_DIR: 'demo' }, '/work')).toBe('/srv/t');
  });

  it.each([
    [{ nodes: '10.0.0.5' }, /loopback/],
    [{ nodes: '127.0.0.11,127.0.0.11' }, /given twice/],
    [{ nodes: ' , ' }, /expected 1 to/],
    [{ gateway: 'localhost' }, '--gateway="localhost" must be HOST:PORT, such as 127.0.0.1:4000'],
    [{ iscsiPort: '70000' }, /from 1 to 65535/],
    [{ iscsiPort: '0' }, /from 1 to 65535/],
    [{ iscsiPort: '3261' }, /different ports/],
    [{ natsPort: 'x' }, '--nats-port="x" must be a port from 1 to 65535 (or 0 for any free port)'],
    [{ gateway: '127.0.0.11:3260' }, /same address and port/],
    [{ registrationTimeout: '0' }, '--registration-timeout="0" must be seconds > 0'],
  ])('refuses %j', (flags, message) => {
    expect(() => stackOptionsFrom(flags, {}, '/work')).toThrow(StackConfigError);
    expect(() => stackOptionsFrom(flags, {}, '/work')).toThrow(message);
  });
});

describe('the stack\'s environment variables', () => {
  it.each([
    ['TANDEM_STACK_REGISTRATION_TIMEOUT', '60s', 'must be seconds > 0'],
    ['TANDEM_STACK_ISCSI_PORT', '3260x', 'must be a port from 1 to 65535'],
    ['TANDEM_STACK_NATS_PORT', '-1', 'must be a port from 1 to 65535 (or 0 for any free port)'],
    ['TANDEM_STACK_NO_RESTART', 'please', 'must be 1 or 0'],
    ['TANDEM_STACK_VERBOSE', '2', 'must be 1 or 0'],
    ['TANDEM_GATEWAY_LISTEN', ':4000', 'must be HOST:PORT'],
    ['TANDEM_LOG_LEVEL', 'chatty', 'must be one of fatal, error, warn, info, debug, trace, silent'],
  ])('%s=%j is refused: %s', (name, value, expected) => {
    expect(() => stackOptionsFrom({}, { [name]: value }, '/work')).toThrow(StackConfigError);
    expect(() => stackOptionsFrom({}, { [name]: value }, '/work')).toThrow(`${name}=${JSON.stringify(value)} ${expected}`);
  });

  it('keeps the defaults', () => {
    expect(stackOptionsFrom({}, {}, '/work')).toMatchObject({ dataDir: '/work/.tandem', gateway: { host: '127.0.0.1', port: 4000 }, natsPort: 4250, verbose: false, autoRestart: true, registrationTimeoutMs: 60_000, natsUrl: undefined, databaseUrl: undefined, apiToken: undefined });
  });

  it('lists each of its variables among the known TANDEM_* names', () => {
    for (const name of Object.keys(stackEnvSchema).filter((k) => k.startsWith('TANDEM_'))) expect(KNOWN_TANDEM_VARIABLES).toContain(name);
  });
});

describe('loadOrCreateApiToken', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-token-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates 32 random bytes (hex) once, mode 0600, and reuses them', () => {
    const first = loadOrCreateApiToken(dir, undefined);
    expect(first.source).toBe('generated');
    expect(first.token).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(path.join(dir, 'api-token')).mode & 0o777).toBe(0o600);
    const second = loadOrCreateApiToken(dir, undefined);
    expect(second).toEqual({ token: first.token, source: 'file', file: path.join(dir, 'api-token') });
  });

  it('TANDEM_API_TOKEN wins and writes nothing; a short one is refused', () => {
    expect(loadOrCreateApiToken(dir, 'from-the-environment-1')).toEqual({ token: 'from-the-environment-1', source: 'environment' });
    expect(fs.existsSync(path.join(dir, 'api-token'))).toBe(false);
    expect(() => loadOrCreateApiToken(dir, 'short')).toThrow(/TANDEM_API_TOKEN must be at least 16/);
  });

  it('refuses a file holding no usable token, and narrows a widened mode', () => {
    fs.writeFileSync(path.join(dir, 'api-token'), 'short\n');
    expect(() => loadOrCreateApiToken(dir, undefined)).toThrow(/delete it/);
    fs.writeFileSync(path.join(dir, 'api-token'), `${'b'.repeat(64)}\n`, { mode: 0o644 });
    fs.chmodSync(path.join(dir, 'api-token'), 0o644);
    expect(loadOrCreateApiToken(dir, undefined).token).toBe('b'.repeat(64));
    expect(fs.statSync(path.join(dir, 'api-token')).mode & 0o777).toBe(0o600);
  });
});

describe('writeAgentConfig', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-node-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const node = (host: string, port: number) => ({
    name: 'node-a',
    iscsi: { host, port },
    http: { host, port: port + 1 },
    portalGroupTag: 1,
    sync: { host, port: port + 2 },
    heartbeat: { host, port: port + 3 },
    stateDir: dir,
    configPath: path.join(dir, 'node.json'),
  });
  const read = () => JSON.parse(fs.readFileSync(path.join(dir, 'node.json'), 'utf8')) as Record<string, unknown>;

  it('writes the portal, the HA links and no targets; later keeps the targets and node id the agent recorded and only moves portal and links', () => {
    writeAgentConfig(node('127.0.0.11', 3260));
    const replication = { sync: [{ host: '127.0.0.11', port: 3262 }], heartbeat: [{ host: '127.0.0.11', port: 3263 }] };
    expect(read()).toEqual({ portals: [{ host: '127.0.0.11', port: 3260, portalGroupTag: 1 }], targets: [], replication });
    const recorded = {
      portals: [{ host: '127.0.0.11', port: 3260, portalGroupTag: 1 }],
      targets: [{ name: 'iqn.2026-11.io.tandem:x', luns: [] }],
      nopIntervalSeconds: 10,
      replication: { ...replication, nodeId: 'the-agents-id' },
    };
    fs.writeFileSync(path.join(dir, 'node.json'), JSON.stringify(recorded));
    writeAgentConfig(node('127.0.0.11', 3260));
    expect(read()).toEqual(recorded);
    writeAgentConfig(node('127.0.0.11', 13260));
    expect(read()).toEqual({
      ...recorded,
      portals: [{ host: '127.0.0.11', port: 13260, portalGroupTag: 1 }],
      replication: { sync: [{ host: '127.0.0.11', port: 13262 }], heartbeat: [{ host: '127.0.0.11', port: 13263 }], nodeId: 'the-agents-id' },
    });
  });
});
