/**
 * The console's one GraphQL client: queries and mutations over HTTP POST, subscriptions over one shared graphql-ws
 * connection, both at the same origin's `/graphql`, with the gateway token (sessionStorage, never in a URL) sent as
 * `Authorization: Bearer` on HTTP and as `connectionParams.authorization` on the WebSocket, as the gateway reads them.
 */
import { createClient, type Client } from 'graphql-ws';

const TOKEN_KEY = 'tandem.apiToken';
const PATH = '/graphql';

/** The gateway refused the request for want of a valid token (HTTP 401 or `extensions.code` UNAUTHENTICATED). */
export class NotAuthenticated extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotAuthenticated';
  }
}

type Listener = () => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called whenever any request comes back NotAuthenticated (the app sends the user to the login page). */
export function onNotAuthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

function notAuthenticated(message: string): NotAuthenticated {
  for (const listener of unauthenticatedListeners) listener();
  return new NotAuthenticated(message);
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  resetSubscriptions();
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  resetSubscriptions();
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string };
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

function errorOf(errors: GraphQLErrorShape[]): Error {
  const message = errors.map((e) => e.message).join('; ');
  if (errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) return notAuthenticated(message);
  return new Error(message);
}

/** One query or mutation; resolves to `data`, rejects with the API's own message. */
export async function gql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(PATH, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    throw new Error(`the gateway did not answer: ${(error as Error).message}`);
  }
  let body: GraphQLResponse<T> | undefined;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    body = undefined;
  }
  if (body?.errors?.length) {
    const error = errorOf(body.errors);
    if (response.status === 401 && !(error instanceof NotAuthenticated)) throw notAuthenticated(error.message);
    throw error;
  }
  if (response.status === 401) throw notAuthenticated('the gateway needs a valid API token');
  if (!response.ok) throw new Error(`the gateway answered HTTP ${response.status} ${response.statusText}`);
  if (!body || body.data === undefined || body.data === null) throw new Error('the gateway answered without data');
  return body.data;
}

let client: Client | null = null;

function wsUrl(): string {
  const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${protocol}//${location.host}${PATH}`;
}

function sharedClient(): Client {
  if (!client) {
    client = createClient({
      url: wsUrl(),
      lazy: true,
      retryAttempts: Infinity,
      // A refused token (4403) or a bad request (4400) will not get better by retrying; a lost gateway will.
      shouldRetry: (event) => !isRefusal(event),
      connectionParams: () => {
        const token = getToken();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
    });
  }
  return client;
}

function isRefusal(event: unknown): boolean {
  const code = (event as { code?: unknown } | null)?.code;
  return code === 4400 || code === 4401 || code === 4403;
}

/** The token changed: the next subscription opens a new connection carrying it. */
function resetSubscriptions(): void {
  const old = client;
  client = null;
  if (old) void old.dispose();
}

function closeEventError(error: unknown): Error {
  if (error instanceof Error) return error;
  if (Array.isArray(error)) return errorOf(error as GraphQLErrorShape[]);
  const close = error as { code?: number; reason?: string } | null;
  if (close && typeof close.code === 'number') {
    // 4403 Forbidden / 4401 Unauthorized: the gateway refused the connection's token.
    if (close.code === 4403 || close.code === 4401) return notAuthenticated(close.reason || 'the gateway refused the token');
    return new Error(`subscription closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`);
  }
  return new Error(String(error));
}

/** Subscribes until the returned function is called; each `next` result's data goes to `onData`. */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown> | undefined,
  onData: (data: T) => void,
  onError?: (e: Error) => void,
): () => void {
  return sharedClient().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) {
          onError?.(errorOf(result.errors as GraphQLErrorShape[]));
          return;
        }
        if (result.data) onData(result.data as T);
      },
      error: (error) => onError?.(closeEventError(error)),
      complete: () => undefined,
    },
  );
}
