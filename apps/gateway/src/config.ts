/** Gateway settings from the environment. There is no default token: without one the gateway refuses to start. */
import * as net from 'net';
import { orchestratorEnvSchema, settingsFromEnv as orchestratorSettingsFromEnv, type OrchestratorSettings } from '@tandem/orchestrator';
import { env, EnvConfigError, parseEnv, parseHostPort } from '@tandem/contracts';
import { DEFAULT_MAX_COMPLEXITY } from './limits/queryLimits';

export const GATEWAY_SETTINGS = Symbol('GATEWAY_SETTINGS');

/** Shortest token accepted: a guessable token is no protection (`npm start` generates 32 random bytes). */
export const MIN_TOKEN_LENGTH = 16;

/** Where the orchestrator keeps the log and read models and talks on NATS: the gateway must use exactly the same. */
type SharedSettings = Pick<OrchestratorSettings, 'databaseUrl' | 'dataDir' | 'schema' | 'natsUrl' | 'subjectPrefix' | 'eventsStream'>;

export interface GatewaySettings extends SharedSettings {
  /** Bearer token mutations must carry. */
  apiToken: string;
  host: string;
  /** 0 → any free port (tests). */
  port: number;
  /** GraphQL endpoint (HTTP and graphql-ws). */
  path: string;
  /** Queries and subscriptions also need the token; forced on when listening beyond loopback. */
  readsRequireToken: boolean;
  /** How long a mutation waits for the orchestrator's reply. */
  commandTimeoutMs: number;
  maxDepth: number;
  maxComplexity: number;
}

export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

/** Both schemas at once, so one start reports every bad variable. */
const parseGatewayEnv = (source: NodeJS.ProcessEnv) => parseEnv({ ...orchestratorEnvSchema, ...gatewayEnvSchema }, source);

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

/** `127.0.0.1:4000`, `[::1]:4000`, `0.0.0.0:4000` → host and port. */
export function parseListen(listen: string): { host: string; port: number } {
  try {
    return parseHostPort(listen.trim());
  } catch (error) {
    throw new GatewayConfigError(`TANDEM_GATEWAY_LISTEN=${JSON.stringify(listen)} ${(error as Error).message}`);
  }
}

/** The gateway's own variables; it also reads the orchestrator's (database, NATS, readiness lag). */
export const gatewayEnvSchema = {
  TANDEM_API_TOKEN: env.string(''),
  TANDEM_GATEWAY_LISTEN: env.hostPort('127.0.0.1:4000'),
  TANDEM_GATEWAY_READS_REQUIRE_TOKEN: env.flag(false),
  TANDEM_GATEWAY_COMMAND_TIMEOUT_MS: env.durationMs(10_000, { bareUnit: 'ms', minMs: 100, maxMs: 600_000 }),
  TANDEM_GATEWAY_MAX_DEPTH: env.positiveInt(8),
  TANDEM_GATEWAY_MAX_COMPLEXITY: env.positiveInt(DEFAULT_MAX_COMPLEXITY),
  TANDEM_CONSOLE_DIR: env.optionalString(),
};

/** Throws GatewayConfigError naming every bad variable (the orchestrator's shared ones included). */
export function settingsFromEnv(source: NodeJS.ProcessEnv = process.env, overrides: Partial<GatewaySettings> = {}): GatewaySettings {
  let e: ReturnType<typeof parseGatewayEnv>;
  let shared: OrchestratorSettings;
  try {
    e = parseGatewayEnv(source);
    shared = orchestratorSettingsFromEnv(source);
  } catch (error) {
    if (error instanceof EnvConfigError) throw new GatewayConfigError(error.message);
    throw error;
  }
  const apiToken = overrides.apiToken ?? e.TANDEM_API_TOKEN;
  if (apiToken.length === 0) {
    throw new GatewayConfigError(
      'TANDEM_API_TOKEN is not set: the gateway has no default token and will not start without one. ' +
        'Generate one (e.g. `openssl rand -hex 32`) and set TANDEM_API_TOKEN, or start the stack with `npm start`, which generates and prints one.',
    );
  }
  if (apiToken.length < MIN_TOKEN_LENGTH || /\s/.test(apiToken)) {
    throw new GatewayConfigError(`TANDEM_API_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters without blanks (e.g. \`openssl rand -hex 32\`)`);
  }
  const { databaseUrl, dataDir, schema, natsUrl, subjectPrefix, eventsStream } = shared;
  const settings: GatewaySettings = {
    apiToken,
    databaseUrl,
    dataDir,
    schema,
    natsUrl,
    subjectPrefix,
    eventsStream,
    host: e.TANDEM_GATEWAY_LISTEN.host,
    port: e.TANDEM_GATEWAY_LISTEN.port,
    path: '/graphql',
    readsRequireToken: e.TANDEM_GATEWAY_READS_REQUIRE_TOKEN,
    commandTimeoutMs: e.TANDEM_GATEWAY_COMMAND_TIMEOUT_MS,
    maxDepth: e.TANDEM_GATEWAY_MAX_DEPTH,
    maxComplexity: e.TANDEM_GATEWAY_MAX_COMPLEXITY,
    ...overrides,
  };
  // Reads are open only to processes on this machine; anything wider needs the token for everything.
  if (!isLoopback(settings.host)) settings.readsRequireToken = true;
  return settings;
}
