import type { EmbeddedPostgres } from './src/embeddedPostgres';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { __tandemEmbeddedPostgres?: EmbeddedPostgres };
  await holder.__tandemEmbeddedPostgres?.stop();
  holder.__tandemEmbeddedPostgres = undefined;
}
