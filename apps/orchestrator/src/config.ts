/** Orchestrator settings, from the environment (and overridable in code, e.g. by tests or the CLI). */
import * as path from 'path';
import { AGENT_REPORTS_STREAM, env, envVar, EVENTS_STREAM, parseEnv, parseHostPort } from '@tandem/contracts';

export const ORCHESTRATOR_SETTINGS = Symbol('ORCHESTRATOR_SETTINGS');

export interface OrchestratorSettings {
  /** `postgres://…`; undefined → the embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Where the embedded database lives (`<dataDir>/pgdata`). Default `.tandem`. */
  dataDir: string;
  /** Postgres schema holding the event log, the read models and the command guards. Default `tandem`. */
  schema: string;
  natsUrl: string;
  /**
   * Prepended (with a dot) to every subject the orchestrator uses; empty in production. Lets test runs share one
   * NATS server without hearing each other.
   */
  subjectPrefix: string;
  /** JetStream stream the outbox publishes to. */
  eventsStream: string;
  /** JetStream dedupe window for `Nats-Msg-Id`; an outbox restart must republish within it. Default 1 h. */
  duplicateWindowMs: number;
  /** JetStream stream the node agents publish their reports to. */
  reportsStream: string;
  /** How long a node agent gets to answer one device command before it is left to converge on reconnect. */
  agentRequestTimeoutMs: number;
  /** Parts that can be switched off (e.g. `tandem events replay` needs none of them). */
  listenForCommands: boolean;
  runProjector: boolean;
  runOutbox: boolean;
  /** Device commands to node agents, their desired-device answers, and their reports into the log. */
  runAgentProtocol: boolean;
  /** Node liveness from telemetry and the alert rules (NodeUnreachable/Reachable, AlertRaised/Cleared). */
  runHealth: boolean;
  /** Telemetry silence after which a node is unreachable (`TANDEM_NODE_LOST_AFTER`, e.g. `5s`, `2500ms`; default 5 s). */
  nodeLostAfterMs: number;
  /** GET /health/live, /health/ready, /metrics (`TANDEM_ORCHESTRATOR_HTTP=HOST:PORT`; `off` or unset: none, see main.ts). */
  httpListen?: { host: string; port: number } | null;
  /** Readiness fails while the read models are more than this many events behind the log (`TANDEM_READY_MAX_LAG_EVENTS`). */
  readyMaxLagEvents: number;
}

/**
 * Every variable the orchestrator reads, with its default; parsed once. A bad value stops the service with
 * `NAME="value" must be …` (see parseEnv).
 */
export const orchestratorEnvSchema = {
  DATABASE_URL: env.optionalString(),
  NATS_URL: env.string('nats://127.0.0.1:4222'),
  TANDEM_DATA_DIR: env.string('.tandem'),
  TANDEM_DB_SCHEMA: envVar(parsePostgresIdentifier, 'tandem'),
  TANDEM_SUBJECT_PREFIX: envVar(parseSubjectPrefix, ''),
  TANDEM_EVENTS_STREAM: envVar(parseStreamName, EVENTS_STREAM),
  TANDEM_DUPLICATE_WINDOW_MS: env.durationMs(3_600_000, { bareUnit: 'ms', minMs: 1000, maxMs: 7 * 24 * 3_600_000 }),
  TANDEM_AGENT_REPORTS_STREAM: envVar(parseStreamName, AGENT_REPORTS_STREAM),
  TANDEM_AGENT_REQUEST_TIMEOUT_MS: env.durationMs(5000, { bareUnit: 'ms', minMs: 100, maxMs: 3_600_000 }),
  TANDEM_NODE_LOST_AFTER: env.durationMs(5000, { bareUnit: 's', minMs: 100, maxMs: 3_600_000 }),
  TANDEM_ORCHESTRATOR_HTTP: envVar(parseHttpListenText),
  TANDEM_READY_MAX_LAG_EVENTS: env.wholeNumber(1000, 0),
};

/** Postgres schema names Tandem interpolates into SQL: a plain identifier. */
function parsePostgresIdentifier(text: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(text)) return text;
  throw new Error('must be a Postgres schema name: letters, digits and _, starting with a letter or _, at most 63');
}

/** NATS subject tokens joined by dots, no wildcards or blanks. */
function parseSubjectPrefix(text: string): string {
  if (/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(text)) return text;
  throw new Error('must be NATS subject tokens (letters, digits, _ and -) joined by dots, without wildcards');
}

/** JetStream stream names: no dots, blanks, wildcards or path separators. */
function parseStreamName(text: string): string {
  if (/^[A-Za-z0-9_-]{1,255}$/.test(text)) return text;
  throw new Error('must be a JetStream stream name: letters, digits, _ and -');
}

function parseHttpListenText(text: string): { host: string; port: number } | null {
  return text === 'off' ? null : parseHostPort(text, '127.0.0.1:4001');
}

/** `TANDEM_READY_MAX_LAG_EVENTS`, default 1000 (the gateway's readiness reads it too). */
export function maxLagFromEnv(source: NodeJS.ProcessEnv = process.env): number {
  return parseEnv({ TANDEM_READY_MAX_LAG_EVENTS: orchestratorEnvSchema.TANDEM_READY_MAX_LAG_EVENTS }, source).TANDEM_READY_MAX_LAG_EVENTS;
}

/** `HOST:PORT` (`[v6]:PORT`), or `off`; undefined when unset. */
export function parseHttpListen(value: string | undefined, what = 'TANDEM_ORCHESTRATOR_HTTP'): { host: string; port: number } | null | undefined {
  return parseEnv({ [what]: orchestratorEnvSchema.TANDEM_ORCHESTRATOR_HTTP }, { [what]: value })[what];
}

/** `5s`, `2500ms`, `1.5s`, or a plain number of seconds; 100 ms to 3600 s. */
export function parseDuration(text: string, what: string): number {
  return parseEnv({ [what]: orchestratorEnvSchema.TANDEM_NODE_LOST_AFTER }, { [what]: text })[what];
}

/** Throws EnvConfigError naming every bad variable. */
export function settingsFromEnv(source: NodeJS.ProcessEnv = process.env, overrides: Partial<OrchestratorSettings> = {}): OrchestratorSettings {
  const e = parseEnv(orchestratorEnvSchema, source);
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.TANDEM_DATA_DIR),
    schema: e.TANDEM_DB_SCHEMA,
    natsUrl: e.NATS_URL,
    subjectPrefix: e.TANDEM_SUBJECT_PREFIX,
    eventsStream: e.TANDEM_EVENTS_STREAM,
    duplicateWindowMs: e.TANDEM_DUPLICATE_WINDOW_MS,
    reportsStream: e.TANDEM_AGENT_REPORTS_STREAM,
    agentRequestTimeoutMs: e.TANDEM_AGENT_REQUEST_TIMEOUT_MS,
    listenForCommands: true,
    runProjector: true,
    runOutbox: true,
    runAgentProtocol: true,
    runHealth: true,
    nodeLostAfterMs: e.TANDEM_NODE_LOST_AFTER,
    httpListen: e.TANDEM_ORCHESTRATOR_HTTP,
    readyMaxLagEvents: e.TANDEM_READY_MAX_LAG_EVENTS,
    ...overrides,
  };
}

/** `tandem.cmd.site.create` → `<prefix>.tandem.cmd.site.create` when a prefix is set. */
export const prefixed = (prefix: string, subject: string): string => (prefix ? `${prefix}.${subject}` : subject);
