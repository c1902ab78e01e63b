// The environment of a private `tandem stack`: its own data directory, loopback addresses, free ports, a random token.
import { randomBytes } from 'crypto';
import { freePort } from '@tandem/testing';

/** Two nodes on 127.0.<octet>.1/.2 (each test file picks octets no other one uses), the embedded database. */
export async function privateStackEnv(octet: number, dataDir: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TANDEM_DATA_DIR: dataDir,
    TANDEM_GATEWAY_LISTEN: `127.0.0.1:${await freePort()}`,
    TANDEM_STACK_NODES: `127.0.${octet}.1,127.0.${octet}.2`,
    TANDEM_STACK_ISCSI_PORT: String(await freePort()),
    TANDEM_STACK_HTTP_PORT: String(await freePort()),
    TANDEM_STACK_NATS_PORT: String(await freePort()),
    TANDEM_STACK_SYNC_PORT: String(await freePort()),
    TANDEM_STACK_HEARTBEAT_PORT: String(await freePort()),
    TANDEM_API_TOKEN: randomBytes(24).toString('hex'),
    TANDEM_LOG_LEVEL: 'warn',
  };
  // No outside database, NATS or restart policy leaks in from the developer's shell.
  delete env.DATABASE_URL;
  delete env.NATS_URL;
  delete env.TANDEM_STACK_NO_RESTART;
  return env;
}
