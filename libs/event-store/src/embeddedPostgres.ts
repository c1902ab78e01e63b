/**
 * The embedded default: PGlite (Postgres compiled to WASM, in this process) served over the Postgres wire
 * protocol, so the orchestrator's pg/TypeORM code runs unchanged without a Postgres server.
 * PGlite is one backend: the wire server lets connections take turns, a whole exchange (Query, or Parse…Sync) and
 * a whole transaction at a time (see embedded/wireServer.ts), so connections work but run one at a time.
 */
import type { PGlite } from '@electric-sql/pglite';
import { PGliteWireServer } from './embedded/wireServer';

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly db: PGlite;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default 64. */
  maxConnections?: number;
}

/**
 * Opens (creating if needed) the database under `dataDir` — `memory://` for a throw-away one — and serves it.
 * A data directory must be used by one process at a time.
 */
export async function startEmbeddedPostgres(dataDir: string, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  // Loaded lazily: only the embedded mode pays for the WASM build.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(dataDir);
  const server = new PGliteWireServer(db, { host: options.host ?? '127.0.0.1', port: options.port ?? 0, maxConnections: options.maxConnections ?? 64 });
  let address: { host: string; port: number };
  try {
    address = await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const { host, port } = address;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    host,
    port,
    db,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
