/**
 * Where the web console's build lives and what the gateway may serve from it: `index.html` and the files directly
 * under `assets/` (Vite's hashed bundle), nothing else. Found at run time — TANDEM_CONSOLE_DIR, else the
 * workspace's `apps/console/dist` — so the gateway imports nothing of the console.
 */
import { promises as fs } from 'fs';
import * as path from 'path';

export const CONSOLE_BUILD_HINT = 'The Tandem console is not built. Build it with `npm run build` at the repository root (or `npm run build -w @tandem/console`), then reload this page.';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** A plain file name (Vite's `index-<hash>.js`): no separators, no `..`, no hidden files. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}$/;

export function contentTypeOf(file: string): string | undefined {
  return CONTENT_TYPES[path.extname(file).toLowerCase()];
}

/**
 * The console's dist directory: TANDEM_CONSOLE_DIR when set, else the workspace's `apps/console/dist`, reached from
 * this file's own place (`apps/gateway/{dist,src}/console/`) rather than by importing the console package.
 */
export function consoleDistDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TANDEM_CONSOLE_DIR) return path.resolve(env.TANDEM_CONSOLE_DIR);
  return path.resolve(__dirname, '..', '..', '..', 'console', 'dist');
}

export interface ConsoleFile {
  body: Buffer;
  contentType: string;
}

export class ConsoleFiles {
  constructor(readonly distDir: string) {}

  /** index.html, or null when the console has not been built. */
  async index(): Promise<ConsoleFile | null> {
    return this.read(path.join(this.distDir, 'index.html'));
  }

  /** One file of `assets/`, or null when the name is not a plain file name, has no known type, or does not exist. */
  async asset(name: string): Promise<ConsoleFile | null> {
    if (!ASSET_NAME.test(name) || name.includes('..')) return null;
    return this.read(path.join(this.distDir, 'assets', name));
  }

  private async read(file: string): Promise<ConsoleFile | null> {
    const contentType = contentTypeOf(file);
    if (!contentType) return null;
    try {
      return { body: await fs.readFile(file), contentType };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EISDIR') return null;
      throw error;
    }
  }
}
