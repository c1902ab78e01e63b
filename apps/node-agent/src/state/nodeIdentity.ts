/** The node id: generated once, kept in `<stateDir>/node-id`, so a restart registers the same node. */
import { randomUUID } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { idSchema } from '@tandem/contracts';
import { writeFileAtomic } from './atomicFile';

export const NODE_ID_FILE = 'node-id';

export async function loadOrCreateNodeId(stateDir: string): Promise<string> {
  const file = path.join(stateDir, NODE_ID_FILE);
  try {
    const text = (await fsp.readFile(file, 'utf8')).trim();
    if (!idSchema.safeParse(text).success) throw new Error(`${file} holds ${JSON.stringify(text.slice(0, 64))}, not a UUID; fix or remove it`);
    return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fsp.mkdir(stateDir, { recursive: true });
  const nodeId = randomUUID();
  await writeFileAtomic(file, `${nodeId}\n`);
  return nodeId;
}
