/** `tandem events replay`: rebuild the read models from the log (stop the orchestrator's projector meanwhile, or let its compare-and-set checkpoint absorb it). */
import { openDatabaseFromSettings } from '../database/openFromSettings';
import { rebuildReadModels, type RebuildResult } from '../projections/rebuildReadModels';
import { settingsFromEnv } from '../config';

export interface ReplayOptions {
  /** Default DATABASE_URL, else the embedded database under `dataDir`. */
  databaseUrl?: string;
  dataDir?: string;
  schema?: string;
  /** Where the summary goes. Default stdout. */
  write?: (line: string) => void;
}

export async function replay(options: ReplayOptions = {}): Promise<RebuildResult> {
  const defaults = settingsFromEnv();
  const db = await openDatabaseFromSettings({
    databaseUrl: options.databaseUrl ?? defaults.databaseUrl,
    dataDir: options.dataDir ?? defaults.dataDir,
    schema: options.schema ?? defaults.schema,
  });
  try {
    const result = await rebuildReadModels(db);
    const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
    const rate = result.elapsedMs > 0 ? Math.round((result.events / result.elapsedMs) * 1000) : result.events;
    write(
      `replayed ${result.events} events up to position ${result.position} in ${result.elapsedMs} ms (${rate} events/s): ` +
        `${result.counts.sites} sites, ${result.counts.clusters} clusters, ${result.counts.nodes} nodes, ${result.counts.devices} devices, ${result.counts.alerts} alerts`,
    );
    return result;
  } finally {
    await db.close();
  }
}
