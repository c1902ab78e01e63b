/** Orchestrator settings, from the environment (and overridable in code, e.g. by tests or the CLI). */
import * as path from 'path';
import { AGENT_REPORTS_STREAM, EVENTS_STREAM } from '@tandem/contracts';

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

/** `TANDEM_READY_MAX_LAG_EVENTS`, default 1000. */
export function maxLagFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.TANDEM_READY_MAX_LAG_EVENTS ?? 1000);
  if (!Number.isInteger(value) || value < 0) throw new Error(`TANDEM_READY_MAX_LAG_EVENTS ${env.TANDEM_READY_MAX_LAG_EVENTS}: expected a whole number of events`);
  return value;
}

/** `HOST:PORT` (`[v6]:PORT`), or `off`; undefined when unset. */
export function parseHttpListen(value: string | undefined, what = 'TANDEM_ORCHESTRATOR_HTTP'): { host: string; port: number } | null | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'off') return null;
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new Error(`${what} ${value}: expected HOST:PORT or off`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** `5s`, `2500ms`, `1.5s`, or a plain number of seconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(text);
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : 1000) : NaN;
  if (!Number.isFinite(ms) || ms < 100 || ms > 3_600_000) throw new Error(`${what} ${JSON.stringify(text)}: expected a duration from 100ms to 3600s, such as 5s or 2500ms`);
  return Math.round(ms);
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<OrchestratorSettings> = {}): OrchestratorSettings {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.TANDEM_DATA_DIR ?? '.tandem'),
    schema: env.TANDEM_DB_SCHEMA ?? 'tandem',
    natsUrl: env.NATS_URL ?? 'nats://127.0.0.1:4222',
    subjectPrefix: env.TANDEM_SUBJECT_PREFIX ?? '',
    eventsStream: env.TANDEM_EVENTS_STREAM ?? EVENTS_STREAM,
    duplicateWindowMs: Number(env.TANDEM_DUPLICATE_WINDOW_MS ?? 3_600_000),
    reportsStream: env.TANDEM_AGENT_REPORTS_STREAM ?? AGENT_REPORTS_STREAM,
    agentRequestTimeoutMs: Number(env.TANDEM_AGENT_REQUEST_TIMEOUT_MS ?? 5000),
    listenForCommands: true,
    runProjector: true,
    runOutbox: true,
    runAgentProtocol: true,
    runHealth: true,
    nodeLostAfterMs: parseDuration(env.TANDEM_NODE_LOST_AFTER ?? '5s', 'TANDEM_NODE_LOST_AFTER'),
    httpListen: parseHttpListen(env.TANDEM_ORCHESTRATOR_HTTP),
    readyMaxLagEvents: maxLagFromEnv(env),
    ...overrides,
  };
}

/** `tandem.cmd.site.create` → `<prefix>.tandem.cmd.site.create` when a prefix is set. */
export const prefixed = (prefix: string, subject: string): string => (prefix ? `${prefix}.${subject}` : subject);
