/**
 * The web console served by the gateway on the GraphQL port: `/` is the built index.html, every asset it names loads
 * with its content type, nothing points at another origin, GraphQL and health still answer beside it, and without a
 * build `/` says how to make one. Also the token check the console's login uses (`mutation { __typename }`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { INestApplication } from '@nestjs/common';
import type { OrchestratorDatabase } from '@tandem/orchestrator';
import { countEvents, describeWithInfrastructure } from '@tandem/orchestrator/testing';
import { settingsFromEnv } from '../config';
import { bootstrapGateway } from '../main';
import { consoleDistDir } from './consoleFiles';

/** Strings in the bundle that look like URLs but are never fetched: XML namespace names and React's error-decoder link text. */
const NOT_FETCHED = [/^http:\/\/www\.w3\.org\/[\w/.]*$/, /^https:\/\/react\.dev\/errors\/$/];

function externalUrls(text: string): string[] {
  const found = text.match(/https?:\/\/[^\s"'`)<>\\]*/g) ?? [];
  return [...new Set(found)].filter((url) => !NOT_FETCHED.some((allowed) => allowed.test(url)));
}

/** `/assets/…` named by index.html's script and stylesheet tags, and by the bundles themselves (split chunks). */
function assetPaths(text: string): string[] {
  return [...new Set([...text.matchAll(/\/?assets\/[A-Za-z0-9_.-]+\.(?:js|css|svg|png|woff2)/g)].map((m) => (m[0].startsWith('/') ? m[0] : `/${m[0]}`)))];
}

const EXPECTED_TYPE: Record<string, RegExp> = { '.js': /^text\/javascript/, '.css': /^text\/css/, '.svg': /^image\/svg\+xml/, '.png': /^image\/png/, '.woff2': /^font\/woff2/ };

describeWithInfrastructure('web console on the gateway', { nats: true }, (infra) => {
  const token = 'c'.repeat(40);
  let db: OrchestratorDatabase;
  let app: INestApplication;
  let base: string;
  let graphqlUrl: string;

  const start = async () => {
    const settings = settingsFromEnv({}, { apiToken: token, host: '127.0.0.1', port: 0, subjectPrefix: `c${infra.runTag}`, eventsStream: `TANDEM_EVENTS_C${infra.runTag}`.toUpperCase(), natsUrl: infra.natsUrl });
    return bootstrapGateway(settings, { database: db, logger: false });
  };

  beforeAll(async () => {
    db = await infra.openDatabase();
    const gateway = await start();
    app = gateway.app;
    graphqlUrl = gateway.url;
    base = gateway.url.replace(/\/graphql$/, '');
    infra.beforeClose(() => app.close());
  });

  it('GET / is the built index.html; each asset it references loads with 200 and its content type; no external URL', async () => {
    const dist = consoleDistDir();
    if (!existsSync(path.join(dist, 'index.html'))) throw new Error(`the console is not built (no ${dist}/index.html): run \`npm run build\` first`);
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await response.text();
    expect(html).toBe(readFileSync(path.join(dist, 'index.html'), 'utf8'));
    expect(html).toContain('<div id="root"></div>');
    expect(externalUrls(html)).toEqual([]);

    const seen = new Set<string>();
    const queue = assetPaths(html);
    expect(queue.some((p) => p.endsWith('.js'))).toBe(true);
    while (queue.length > 0) {
      const asset = queue.shift()!;
      if (seen.has(asset)) continue;
      seen.add(asset);
      const res = await fetch(`${base}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      expect(res.headers.get('content-type')).toMatch(EXPECTED_TYPE[path.extname(asset)]);
      expect(res.headers.get('cache-control')).toContain('immutable');
      if (asset.endsWith('.js') || asset.endsWith('.css')) {
        const body = await res.text();
        expect({ asset, external: externalUrls(body) }).toEqual({ asset, external: [] });
        queue.push(...assetPaths(body));
      }
    }
  });

  it('an unknown asset or a path outside assets/ is a plain 404', async () => {
    const missing = await fetch(`${base}/assets/nothing-here.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await fetch(`${base}/assets/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${base}/assets/index.html`)).status).toBe(404);
  });

  it('GraphQL and the health endpoints still answer beside the console', async () => {
    const query = await fetch(graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ sites { totalCount } }' }) });
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { sites: { totalCount: 0 } } });
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it("the console's login check: `mutation { __typename }` needs the token and changes nothing", async () => {
    const verify = (authorization?: string) =>
      fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ query: 'mutation VerifyToken { __typename }' }),
      });
    const eventsBefore = await countEvents(db);
    const wrong = await verify(`Bearer ${'x'.repeat(40)}`);
    expect(wrong.status).toBe(401);
    const refused = (await wrong.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(refused.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.errors[0].message).toMatch(/Bearer/);
    expect((await verify()).status).toBe(401);
    const right = await verify(`Bearer ${token}`);
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ data: { __typename: 'Mutation' } });
    expect(await countEvents(db)).toBe(eventsBefore);
  });

  it('without a build, / answers 404 with how to build the console, and the gateway keeps serving GraphQL', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'tandem-console-'));
    const before = process.env.TANDEM_CONSOLE_DIR;
    process.env.TANDEM_CONSOLE_DIR = empty;
    let bare: Awaited<ReturnType<typeof start>> | undefined;
    try {
      bare = await start();
    } finally {
      if (before === undefined) delete process.env.TANDEM_CONSOLE_DIR;
      else process.env.TANDEM_CONSOLE_DIR = before;
    }
    try {
      const root = await fetch(bare.url.replace(/\/graphql$/, '/'));
      expect(root.status).toBe(404);
      expect(root.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await root.text()).toMatch(/not built.*npm run build/);
      const query = await fetch(bare.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(await query.json()).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await bare.app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
