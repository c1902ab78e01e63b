/**
 * Persistent reservation state on disk (APTPL, SPC-4 5.13.5): one JSON file beside the device image,
 * replaced atomically (temp file, fsync, rename, fsync of the directory) so a crash leaves either the
 * old or the new state, never a torn one.
 */
import { readFileSync } from 'fs';
import { open, rename, unlink } from 'fs/promises';
import { dirname } from 'path';
import { PrSnapshot } from './persistentReservations';

/** Reads the saved state; null when there is none. A file that does not parse is an error, not "no state". */
export function loadPrState(path: string): PrSnapshot | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as PrSnapshot;
  } catch {
    throw new Error(`persistent reservation state ${path} is not valid JSON`);
  }
}

/** Writes the state durably; resolves once it would survive a power loss. */
export async function savePrState(path: string, snapshot: PrSnapshot): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(`${JSON.stringify(snapshot, null, 1)}\n`, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  await syncDirectory(path);
}

/** Removes saved state (APTPL cleared); resolves once the removal is durable. No file is fine. */
export async function removePrState(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await syncDirectory(path);
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

