/** The node agent's settings schema (variables and the flags that stand for them): defaults, values, messages. */
import * as path from 'path';
import { AGENT_REPORTS_STREAM, KNOWN_TANDEM_VARIABLES } from '@tandem/contracts';
import { nodeAgentEnvSchema, settingsFromArgv } from './config';

const base = ['--config', '/etc/tandem/node.json'];

describe('node agent settings', () => {
  it('keeps every default', () => {
    expect(settingsFromArgv(base, {})).toEqual({
      configPath: '/etc/tandem/node.json',
      httpHost: '127.0.0.1',
      httpPort: 3261,
      stateDir: '/etc/tandem',
      imageDir: '/etc/tandem/devices',
      natsUrl: 'nats://127.0.0.1:4222',
      subjectPrefix: '',
      reportsStream: AGENT_REPORTS_STREAM,
      nodeName: undefined,
      advertise: undefined,
      build: 'dev',
      capacityBytes: undefined,
      targetIqnPrefix: 'iqn.2026-11.io.tandem',
      telemetryIntervalMs: 1000,
      spaceWarnPercent: 10,
      cacheBytesPerDevice: 256 * 1024 * 1024,
      resyncBytesPerSecond: 0,
      resyncProgressReportMs: 5000,
      logLevel: 'info',
    });
  });

  it('reads variables, and a flag wins over its variable', () => {
    const s = settingsFromArgv([...base, '--http', '[::1]:4261', '--cache-mib', '64', '--nats', 'none', '--advertise', '10.0.0.5,[fd00::5]'], {
      TANDEM_NODE_HTTP: '127.0.0.1:1',
      TANDEM_NODE_CACHE_MIB: '8',
      TANDEM_NODE_STATE_DIR: '/var/lib/tandem',
      TANDEM_NODE_CAPACITY_BYTES: '2TiB',
      TANDEM_NODE_RESYNC_MIB_PER_SECOND: '1.5',
      TANDEM_RESYNC_PROGRESS_REPORT_MS: '250',
      TANDEM_TELEMETRY_INTERVAL_MS: '2s',
      TANDEM_LOG_LEVEL: 'debug',
    });
    expect(s).toMatchObject({
      httpHost: '::1',
      httpPort: 4261,
      cacheBytesPerDevice: 64 * 1024 * 1024,
      natsUrl: null,
      advertise: ['10.0.0.5', 'fd00::5'],
      stateDir: '/var/lib/tandem',
      imageDir: path.join('/var/lib/tandem', 'devices'),
      capacityBytes: 2 * 1024 ** 4,
      resyncBytesPerSecond: Math.round(1.5 * 1024 * 1024),
      resyncProgressReportMs: 250,
      telemetryIntervalMs: 2000,
      logLevel: 'debug',
    });
  });

  it.each([
    ['TANDEM_NODE_RESYNC_MIB_PER_SECOND', '10MB', 'must be a number ≥ 0'],
    ['TANDEM_RESYNC_PROGRESS_REPORT_MS', '50', 'must be a duration from 100ms to 3600s'],
    ['TANDEM_TELEMETRY_INTERVAL_MS', 'fast', 'must be a duration from 50ms to 3600s'],
    ['TANDEM_NODE_SPACE_WARN_PERCENT', '100', 'must be a number from 0 to 99'],
    ['TANDEM_NODE_CACHE_MIB', '0', 'must be a positive integer'],
    ['TANDEM_NODE_CAPACITY_BYTES', 'lots', 'must be a size in bytes'],
    ['TANDEM_NODE_HTTP', '3261', 'must be HOST:PORT'],
    ['TANDEM_NODE_ADVERTISE', '0.0.0.0', 'must be 1 to 16 comma-separated addresses or host names that partners can dial (not 0.0.0.0 or ::)'],
    ['TANDEM_NODE_ADVERTISE', '10.0.0.5,,10.0.0.6', 'must be 1 to 16 comma-separated addresses'],
    ['TANDEM_LOG_LEVEL', 'verbose', 'must be one of fatal, error, warn, info, debug, trace, silent'],
  ])('%s=%j is refused: %s', (name, value, expected) => {
    expect(() => settingsFromArgv(base, { [name]: value })).toThrow(`${name}=${JSON.stringify(value)} ${expected}`);
  });

  it('names the flag when a flag carries the bad value', () => {
    expect(() => settingsFromArgv([...base, '--resync-mib-per-second', 'x'], {})).toThrow('--resync-mib-per-second="x" must be a number ≥ 0');
    expect(() => settingsFromArgv([...base, '--http'], {})).toThrow('--http needs a value');
  });

  it('needs a config file', () => {
    expect(() => settingsFromArgv([], {})).toThrow(/--config FILE/);
  });

  it('lists each of its variables among the known TANDEM_* names', () => {
    for (const name of Object.keys(nodeAgentEnvSchema).filter((k) => k.startsWith('TANDEM_'))) expect(KNOWN_TANDEM_VARIABLES).toContain(name);
  });
});
