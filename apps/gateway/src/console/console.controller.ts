/**
 * GET / and GET /assets/<file>: the web console's build, on the GraphQL port. The page loads nothing from elsewhere,
 * and its Content-Security-Policy says so (scripts, styles and connections to this origin only, including the
 * graphql-ws socket). Without a build, `/` answers 404 with how to build it.
 */
import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import { CONSOLE_BUILD_HINT, ConsoleFiles, type ConsoleFile } from './consoleFiles';

export const CONSOLE_FILES = Symbol('CONSOLE_FILES');

interface HttpRequest {
  headers: Record<string, string | string[] | undefined>;
  secure?: boolean;
}

interface HttpResponse {
  status(code: number): HttpResponse;
  setHeader(name: string, value: string): unknown;
  send(body: Buffer | string): unknown;
}

/** host[:port] as a browser sends it; anything else is left out of the policy rather than echoed. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function contentSecurityPolicy(host: string | undefined): string {
  // 'self' covers same-origin WebSockets in CSP 3; the explicit ws:/wss: origin helps browsers that predate it.
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const COMMON_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function send(res: HttpResponse, file: ConsoleFile, cacheControl: string, extra: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries({ ...COMMON_HEADERS, ...extra })) res.setHeader(name, value);
  res.setHeader('content-type', file.contentType);
  res.setHeader('cache-control', cacheControl);
  res.status(200).send(file.body);
}

function notFound(res: HttpResponse, text: string): void {
  for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.status(404).send(`${text}\n`);
}

@Controller()
export class ConsoleController {
  constructor(@Inject(CONSOLE_FILES) private readonly files: ConsoleFiles) {}

  @Get()
  async index(@Req() req: HttpRequest, @Res() res: HttpResponse): Promise<void> {
    const file = await this.files.index();
    if (!file) return notFound(res, CONSOLE_BUILD_HINT);
    const host = Array.isArray(req.headers.host) ? req.headers.host[0] : req.headers.host;
    // index.html names the hashed bundle: always revalidate it so a rebuild is picked up.
    send(res, file, 'no-cache', { 'content-security-policy': contentSecurityPolicy(host) });
  }

  @Get('assets/:file')
  async asset(@Param('file') name: string, @Res() res: HttpResponse): Promise<void> {
    const file = await this.files.asset(name);
    if (!file) return notFound(res, `no console asset ${JSON.stringify(name).slice(0, 120)}`);
    // Vite puts a content hash in every asset name.
    send(res, file, 'public, max-age=31536000, immutable');
  }
}
