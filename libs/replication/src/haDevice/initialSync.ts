/**
 * How a new HA replica starts when one replica's data is to be copied to the others (SYNC_FROM): seeded into the
 * replica's state directory before the device first opens, so the ordinary rules (generations, bitmaps, startup)
 * do the rest:
 * - the source starts at generation G whose history holds E, its partners marked not synchronized (it may serve
 *   alone: it holds the only data), and no bitmap — so the device opens with every region dirty (a full copy);
 * - a target starts at E: its partner's history contains E, so the partner is newer and the target receives a
 *   full copy before it serves; its partner state stays "synchronized" (the default), so it never serves alone.
 * Nothing happens when the replica already has a generation file (it exists; its own history decides).
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { GenerationStore, writeAtomically } from '../state/generations';

export type InitialSyncRole = 'source' | 'target';

/** E, the generation a SYNC_FROM target starts with (before any data): derived from the device's initial generation. */
export const emptyGenerationOf = (initialGeneration: string): string => `empty:${initialGeneration}`;

/** Returns true when it seeded the state (first start), false when the replica already had one. */
export async function seedInitialSync(stateDir: string, role: InitialSyncRole, initialGeneration: string, partnerNodeIds: readonly string[]): Promise<boolean> {
  await fsp.mkdir(stateDir, { recursive: true });
  const generationFile = path.join(stateDir, 'generation.json');
  if (await fsp.stat(generationFile).then(() => true, () => false)) return false;
  const empty = emptyGenerationOf(initialGeneration);
  if (role === 'target') {
    await GenerationStore.open(generationFile, empty);
    return true;
  }
  for (const partner of partnerNodeIds) {
    await writeAtomically(path.join(stateDir, `${partner}.state.json`), JSON.stringify({ state: 'not-synchronized' }));
  }
  const generations = await GenerationStore.open(generationFile, empty);
  await generations.adopt({ current: initialGeneration, history: [empty] });
  return true;
}
