/** The orchestrator's environment schema: defaults, valid values and the message for each bad value. */
import * as path from 'path';
import { AGENT_REPORTS_STREAM, EVENTS_STREAM, KNOWN_TANDEM_VARIABLES } from '@tandem/contracts';
import { maxLagFromEnv, orchestratorEnvSchema, parseDuration, parseHttpListen, settingsFromEnv } from './config';

describe('orchestrator settings from the environment', () => {
  it('keeps every default', () => {
    expect(settingsFromEnv({})).toMatchObject({
      databaseUrl: undefined,
      dataDir: path.resolve('.tandem'),
      schema: 'tandem',
      natsUrl: 'nats://127.0.0.1:4222',
      subjectPrefix: '',
      eventsStream: EVENTS_STREAM,
      duplicateWindowMs: 3_600_000,
      reportsStream: AGENT_REPORTS_STREAM,
      agentRequestTimeoutMs: 5000,
      nodeLostAfterMs: 5000,
      httpListen: undefined,
      readyMaxLagEvents: 1000,
    });
  });

  it('reads valid values', () => {
    const s = settingsFromEnv({
      DATABASE_URL: 'postgres://tandem@db/tandem',
      TANDEM_DATA_DIR: '/var/lib/tandem',
      TANDEM_DB_SCHEMA: 'tandem_prod',
      TANDEM_SUBJECT_PREFIX: 'ci.run7',
      TANDEM_DUPLICATE_WINDOW_MS: '600000',
      TANDEM_AGENT_REQUEST_TIMEOUT_MS: '2s',
      TANDEM_NODE_LOST_AFTER: '2500ms',
      TANDEM_ORCHESTRATOR_HTTP: '[::1]:4001',
      TANDEM_READY_MAX_LAG_EVENTS: '0',
    });
    expect(s).toMatchObject({ databaseUrl: 'postgres://tandem@db/tandem', dataDir: '/var/lib/tandem', schema: 'tandem_prod', subjectPrefix: 'ci.run7', duplicateWindowMs: 600_000, agentRequestTimeoutMs: 2000, nodeLostAfterMs: 2500, httpListen: { host: '::1', port: 4001 }, readyMaxLagEvents: 0 });
    expect(settingsFromEnv({ TANDEM_ORCHESTRATOR_HTTP: 'off' }).httpListen).toBeNull();
    expect(settingsFromEnv({ TANDEM_NODE_LOST_AFTER: '3' }).nodeLostAfterMs).toBe(3000);
  });

  it.each([
    ['TANDEM_NODE_LOST_AFTER', '5 secs', 'must be a duration from 100ms to 3600s, such as 5s or 2500ms (a bare number is in seconds)'],
    ['TANDEM_NODE_LOST_AFTER', '10ms', 'must be a duration from 100ms to 3600s'],
    ['TANDEM_AGENT_REQUEST_TIMEOUT_MS', '5000x', 'must be a duration from 100ms to 3600s, such as 5s or 2500ms (a bare number is in milliseconds)'],
    ['TANDEM_DUPLICATE_WINDOW_MS', 'NaN', 'must be a duration from 1s to 604800s'],
    ['TANDEM_READY_MAX_LAG_EVENTS', '-1', 'must be a whole number ≥ 0'],
    ['TANDEM_ORCHESTRATOR_HTTP', '4001', 'must be HOST:PORT, such as 127.0.0.1:4001'],
    ['TANDEM_DB_SCHEMA', 'tandem; drop', 'must be a Postgres schema name'],
    ['TANDEM_SUBJECT_PREFIX', 'ci.*', 'must be NATS subject tokens'],
    ['TANDEM_EVENTS_STREAM', 'EVENTS.1', 'must be a JetStream stream name'],
    ['TANDEM_AGENT_REPORTS_STREAM', 'a b', 'must be a JetStream stream name'],
  ])('%s=%j is refused: %s', (name, value, expected) => {
    expect(() => settingsFromEnv({ [name]: value })).toThrow(`${name}=${JSON.stringify(value)} ${expected}`);
  });

  it('reports every bad variable at once', () => {
    expect(() => settingsFromEnv({ TANDEM_NODE_LOST_AFTER: 'x', TANDEM_READY_MAX_LAG_EVENTS: 'y' })).toThrow('TANDEM_NODE_LOST_AFTER="x" must be a duration from 100ms to 3600s, such as 5s or 2500ms (a bare number is in seconds)\nTANDEM_READY_MAX_LAG_EVENTS="y" must be a whole number ≥ 0');
  });

  it('keeps the helpers other services call', () => {
    expect(maxLagFromEnv({ TANDEM_READY_MAX_LAG_EVENTS: '50' })).toBe(50);
    expect(() => maxLagFromEnv({ TANDEM_READY_MAX_LAG_EVENTS: '5e' })).toThrow('TANDEM_READY_MAX_LAG_EVENTS="5e"');
    expect(parseHttpListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHttpListen(undefined)).toBeUndefined();
    expect(parseDuration('1.5s', 'X')).toBe(1500);
  });

  it('lists each of its variables among the known TANDEM_* names', () => {
    for (const name of Object.keys(orchestratorEnvSchema).filter((k) => k.startsWith('TANDEM_'))) expect(KNOWN_TANDEM_VARIABLES).toContain(name);
  });
});
