/** The CLI's GraphQL client: where the API is, which token to send, and how its errors become exit codes. */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';

export const DEFAULT_API_URL = 'http://127.0.0.1:4000/graphql';
/** Exit codes shared by every verb. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, notFound: 3 } as const;

/** An error that carries the exit code the CLI ends with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export interface ApiOptions {
  api?: string;
  tokenFile?: string;
}

interface UserError {
  __typename?: string;
  code?: string;
  message: string;
}

/** Adds --api and --token-file to a verb; the token itself never goes on the command line (ps shows it). */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--api <url>', `GraphQL endpoint (default TANDEM_API_URL, else ${DEFAULT_API_URL})`)
    .option('--token-file <file>', 'file holding the API token (default: TANDEM_API_TOKEN, else .tandem/api-token when it exists)');
}

/** TANDEM_API_TOKEN, else --token-file, else the local stack's .tandem/api-token; undefined when none. */
export function resolveToken(opts: ApiOptions, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (env.TANDEM_API_TOKEN) return env.TANDEM_API_TOKEN.trim();
  const file = opts.tokenFile ?? path.join(cwd, '.tandem', 'api-token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (opts.tokenFile !== undefined) throw new CliError(`cannot read the token file ${file}: ${(err as Error).message}`, EXIT.badInput);
    return undefined;
  }
}

/** Maps a typed user error (or an `extensions.code`) to its exit code. */
export function exitCodeFor(code: string | undefined, typename?: string): number {
  if (typename === 'NotFoundError' || code === 'NOT_FOUND') return EXIT.notFound;
  if (typename === 'InvalidInputError' || code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED') return EXIT.badInput;
  return EXIT.failed;
}

export class GraphqlClient {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(opts: ApiOptions, env: NodeJS.ProcessEnv = process.env) {
    this.url = opts.api ?? env.TANDEM_API_URL ?? DEFAULT_API_URL;
    this.token = resolveToken(opts, env);
  }

  /** Runs one operation; transport and GraphQL errors throw a CliError with their exit code. */
  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new CliError(`cannot reach the API at ${this.url}: ${cause}`, EXIT.failed);
    }
    let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new CliError(`the API at ${this.url} answered HTTP ${res.status} without a GraphQL body`, EXIT.failed);
    }
    if (body.errors && body.errors.length > 0) {
      const first = body.errors[0];
      throw new CliError(body.errors.map((e) => e.message).join('; '), exitCodeFor(first.extensions?.code));
    }
    if (!res.ok || body.data === undefined) throw new CliError(`the API at ${this.url} answered HTTP ${res.status}`, EXIT.failed);
    return body.data;
  }

  /** Runs a mutation and returns its payload; a payload with typed `errors` throws with the first one's exit code. */
  async mutate<P extends { errors: UserError[] }>(query: string, field: string, variables: Record<string, unknown>): Promise<P> {
    const data = await this.request<Record<string, P>>(query, variables);
    const payload = data[field];
    if (payload.errors.length > 0) {
      const first = payload.errors[0];
      throw new CliError(payload.errors.map((e) => e.message).join('; '), exitCodeFor(first.code, first.__typename));
    }
    return payload;
  }
}

/** The fragment every mutation asks for so refusals come back typed. */
export const USER_ERRORS = 'errors { __typename ... on UserError { code message } }';
