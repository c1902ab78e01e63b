/** DATABASE_URL when given, else the embedded PGlite under `<dataDir>/pgdata` (served over the wire protocol). */
import * as fs from 'fs';
import * as path from 'path';
import { startEmbeddedPostgres } from '@tandem/event-store';
import { openOrchestratorDatabase, type OrchestratorDatabase } from './orchestratorDatabase';

export async function openDatabaseFromSettings(settings: { databaseUrl?: string; dataDir: string; schema: string }): Promise<OrchestratorDatabase> {
  if (settings.databaseUrl) return openOrchestratorDatabase({ url: settings.databaseUrl, schema: settings.schema });
  const dataDir = path.join(settings.dataDir, 'pgdata');
  fs.mkdirSync(dataDir, { recursive: true });
  const embedded = await startEmbeddedPostgres(dataDir);
  try {
    // PGlite runs one statement at a time: a small pool is all it can use.
    const db = await openOrchestratorDatabase({ url: embedded.url, schema: settings.schema, poolSize: 4 });
    return {
      ...db,
      async close() {
        await db.close();
        await embedded.stop();
      },
    };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}
