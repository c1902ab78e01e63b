/** Gateway settings from the environment. There is no default token: without one the gateway refuses to start. */
import * as net from 'net';
import { settingsFromEnv as orchestratorSettingsFromEnv, type OrchestratorSettings } from '@tandem/orchestrator';
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

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

/** `127.0.0.1:4000`, `[::1]:4000`, `0.0.0.0:4000` → host and port. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new GatewayConfigError(`TANDEM_GATEWAY_LISTEN=${JSON.stringify(listen)} must look like 127.0.0.1:4000`);
  return { host: match[1] ?? match[2], port };
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<GatewaySettings> = {}): GatewaySettings {
  const apiToken = overrides.apiToken ?? env.TANDEM_API_TOKEN ?? '';
  if (apiToken.length === 0) {
    throw new GatewayConfigError(
      'TANDEM_API_TOKEN is not set: the gateway has no default token and will not start without one. ' +
        'Generate one (e.g. `openssl rand -hex 32`) and set TANDEM_API_TOKEN, or start the stack with `npm start`, which generates and prints one.',
    );
  }
  if (apiToken.length < MIN_TOKEN_LENGTH || /\s/.test(apiToken)) {
    throw new GatewayConfigError(`TANDEM_API_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters without blanks (e.g. \`openssl rand -hex 32\`)`);
  }
  const listen = parseListen(env.TANDEM_GATEWAY_LISTEN ?? '127.0.0.1:4000');
  const host = overrides.host ?? listen.host;
  const { databaseUrl, dataDir, schema, natsUrl, subjectPrefix, eventsStream } = orchestratorSettingsFromEnv(env);
  const settings: GatewaySettings = {
    apiToken,
    databaseUrl,
    dataDir,
    schema,
    natsUrl,
    subjectPrefix,
    eventsStream,
    host,
    port: listen.port,
    path: '/graphql',
    readsRequireToken: env.TANDEM_GATEWAY_READS_REQUIRE_TOKEN === '1',
    commandTimeoutMs: Number(env.TANDEM_GATEWAY_COMMAND_TIMEOUT_MS ?? 10_000),
    maxDepth: Number(env.TANDEM_GATEWAY_MAX_DEPTH ?? 8),
    maxComplexity: Number(env.TANDEM_GATEWAY_MAX_COMPLEXITY ?? DEFAULT_MAX_COMPLEXITY),
    ...overrides,
  };
  // Reads are open only to processes on this machine; anything wider needs the token for everything.
  if (!isLoopback(settings.host)) settings.readsRequireToken = true;
  return settings;
}
