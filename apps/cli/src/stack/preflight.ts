/** Checks made before anything starts, so a busy port or a missing binary is one clear line and nothing to undo. */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { formatEndpoint, StackConfigError, type Endpoint } from './stackOptions';

/** Binds and releases `endpoint`; throws a StackConfigError naming `what` when it cannot be bound. */
export async function ensureFree(endpoint: Endpoint, what: string, hint: string): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: endpoint.host, port: endpoint.port, exclusive: true }, () => resolve());
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = formatEndpoint(endpoint);
    if (code === 'EADDRINUSE') throw new StackConfigError(`${where} (${what}) is already in use: ${hint}`);
    if (code === 'EADDRNOTAVAIL') throw new StackConfigError(`${where} (${what}): this machine has no such address`);
    if (code === 'EACCES') throw new StackConfigError(`${where} (${what}): not allowed to listen there (ports below 1024 need root)`);
    throw new StackConfigError(`${where} (${what}): ${(err as Error).message}`);
  } finally {
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }
}

/** A port free on `host` right now (the OS picks it). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The nats-server binary: TANDEM_NATS_SERVER, else PATH, else the sbin directories Debian installs it in. */
export function findNatsServer(explicit: string | undefined, envPath = process.env.PATH ?? ''): string {
  if (explicit) {
    if (!isExecutable(explicit)) throw new StackConfigError(`TANDEM_NATS_SERVER=${explicit} is not an executable file`);
    return explicit;
  }
  const dirs = [...envPath.split(path.delimiter).filter(Boolean), '/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new StackConfigError(
    'nats-server is not installed: install it (Debian: apt-get install nats-server; `npm start` does this) or set NATS_URL to a NATS server with JetStream',
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** DATABASE_URL given: it must accept a connection before anything starts. */
export async function checkDatabase(url: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new StackConfigError(`DATABASE_URL does not answer (${(err as Error).message}); unset it to use the embedded database under the data directory`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
