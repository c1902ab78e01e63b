/**
 * Runs a spec body once per database target (real Postgres, PGlite over the wire). Each `open()` gets a fresh
 * schema named after the spec file, the process and a random tag, dropped after the file: runs never collide.
 */
import { randomBytes } from 'crypto';
import * as path from 'path';
import { dropSchemasWithPrefix } from '../dropSchemas';
import { openEventStore, type OpenEventStoreOptions, type OpenedEventStore } from '../eventStore';

export type DatabaseTarget = 'postgres' | 'pglite';

export interface DatabaseContext {
  readonly target: DatabaseTarget;
  readonly url: string;
  /** Opens a store in a new schema of its own. */
  open(options?: Omit<OpenEventStoreOptions, 'url' | 'schema'>): Promise<OpenedEventStore>;
}

function targets(): { target: DatabaseTarget; url?: string; skip?: string }[] {
  const env = process.env;
  const notSetUp = 'jest global setup did not run';
  return [
    { target: 'postgres', url: env.TANDEM_TEST_POSTGRES_URL, skip: env.TANDEM_TEST_POSTGRES_SKIP ?? (env.TANDEM_TEST_POSTGRES_URL ? undefined : notSetUp) },
    { target: 'pglite', url: env.TANDEM_TEST_PGLITE_URL, skip: env.TANDEM_TEST_PGLITE_SKIP ?? (env.TANDEM_TEST_PGLITE_URL ? undefined : notSetUp) },
  ];
}

export function describeEachDatabase(title: string, body: (db: DatabaseContext) => void, options: { only?: DatabaseTarget[] } = {}): void {
  for (const { target, url, skip } of targets()) {
    if (options.only && !options.only.includes(target)) continue;
    const name = `${title} [${target}]`;
    if (skip !== undefined || url === undefined) {
      describe(name, () => {
        console.warn(`SKIPPED ${name}: ${skip}`);
        test.skip(`${name} [skipped: ${skip}]`, () => undefined);
      });
      continue;
    }
    describe(name, () => {
      const file = path.basename(expect.getState().testPath ?? 'spec', '.spec.ts').toLowerCase().replace(/[^a-z0-9]/g, '_').slice(0, 24);
      const prefix = `es_${file}_${process.pid}_${randomBytes(3).toString('hex')}`;
      const opened: OpenedEventStore[] = [];
      let counter = 0;
      afterAll(async () => {
        await Promise.all(opened.map((store) => store.close().catch(() => undefined)));
        await dropSchemasWithPrefix(url, prefix);
      });
      body({
        target,
        url,
        async open(storeOptions = {}) {
          const store = await openEventStore({ poolSize: 4, ...storeOptions, url, schema: `${prefix}_${++counter}` });
          opened.push(store);
          return store;
        },
      });
    });
  }
}
