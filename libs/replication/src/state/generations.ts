/**
 * Generation ids: which replica holds the newer history. A replica starts a new generation whenever it goes on
 * writing without its partner; the old id moves into its history. Comparing two replicas' states tells whether they
 * hold the same data, which one is newer (its history contains the other's current id), or that both went on alone
 * (split brain: an operator must choose; never merge silently).
 */
import { randomUUID } from 'crypto';
import { crc32c } from '@tandem/storage';
import { promises as fsp } from 'fs';
import * as path from 'path';

export interface GenerationState {
  /** The replica's current generation (a uuid). */
  current: string;
  /** Ancestors, newest first, at most GENERATION_HISTORY_LIMIT. */
  history: string[];
}

export type GenerationVerdict = 'same' | 'local-newer' | 'peer-newer' | 'diverged';

/** Generations older than this are forgotten; replicas further apart than that compare as 'diverged'. */
export const GENERATION_HISTORY_LIMIT = 64;

const FILE_FORMAT = 'tandem-generations';
const FILE_VERSION = 1;

/** The generation file exists but cannot be used; it is left untouched for an operator to inspect. */
export class GenerationFileError extends Error {
  constructor(readonly file: string, reason: string) {
    super(
      `generation file ${file} is unreadable (${reason}); refusing to replace it, because it decides which replica ` +
        `is newer and losing it could merge a split brain silently. Restore it, or move it away deliberately ` +
        `(this replica then starts a fresh history and must be fully resynchronized from its partner).`,
    );
    this.name = 'GenerationFileError';
  }
}

/** same current → same; peer's current among our ancestors → local-newer; ours among the peer's → peer-newer; else diverged. */
export function compareGenerations(local: GenerationState, peer: GenerationState): GenerationVerdict {
  if (local.current === peer.current) return 'same';
  if (local.history.includes(peer.current)) return 'local-newer';
  if (peer.history.includes(local.current)) return 'peer-newer';
  return 'diverged';
}

/** The persisted generation state of one replica (a small JSON file, replaced atomically). */
export class GenerationStore {
  private currentState: GenerationState;
  /** Serializes replacements of the file. */
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    state: GenerationState,
  ) {
    this.currentState = state;
  }

  /**
   * Loads the state, or creates the file when it is absent, starting at `initial` (e.g. one generation shared by
   * both replicas at creation, so they start out 'same') or a fresh uuid. A file that exists but cannot be parsed
   * throws GenerationFileError and is left untouched.
   */
  static async open(file: string, initial?: string): Promise<GenerationStore> {
    let text: string | null = null;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new GenerationFileError(file, (err as Error).message);
    }
    if (text !== null) return new GenerationStore(file, parseGenerationFile(file, text));
    if (initial !== undefined) checkGenerationId(initial, 'initial generation');
    const state = freeze({ current: initial ?? randomUUID(), history: [] });
    await writeAtomically(file, serialize(state));
    return new GenerationStore(file, state);
  }

  /** The current state (an immutable snapshot; replaced, never mutated). */
  get state(): GenerationState {
    return this.currentState;
  }

  /**
   * Starts a new generation (the replica goes on without a partner); durable before it resolves. Replicas that
   * drop the same partner together pass the same id (derived from the old one and the remaining members), so they
   * stay 'same'; starting the current id again changes nothing.
   */
  startNew(id: string = randomUUID()): Promise<string> {
    checkGenerationId(id, 'new generation');
    return this.replace(() => {
      const old = this.currentState;
      if (old.current === id) return old;
      return { current: id, history: [old.current, ...old.history].slice(0, GENERATION_HISTORY_LIMIT) };
    }).then((s) => s.current);
  }

  /** After a completed resync from a peer: take the peer's state as ours; durable before it resolves. */
  async adopt(peer: GenerationState): Promise<void> {
    checkState(peer, 'peer generation state');
    await this.replace(() => ({ current: peer.current, history: peer.history.slice(0, GENERATION_HISTORY_LIMIT) }));
  }

  /** The in-memory state changes only once the new file is durable; a failed write leaves it as it was. */
  private replace(next: () => GenerationState): Promise<GenerationState> {
    const run = this.writing.then(async () => {
      const state = freeze(next());
      await writeAtomically(this.file, serialize(state));
      this.currentState = state;
      return state;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}

function freeze(state: GenerationState): GenerationState {
  return Object.freeze({ current: state.current, history: Object.freeze([...state.history]) as string[] });
}

function checksum(state: GenerationState): number {
  return crc32c(Buffer.from(JSON.stringify([state.current, state.history]), 'utf8'));
}

function serialize(state: GenerationState): string {
  return (
    JSON.stringify({ format: FILE_FORMAT, version: FILE_VERSION, current: state.current, history: state.history, crc32c: checksum(state) }, null, 2) +
    '\n'
  );
}

function parseGenerationFile(file: string, text: string): GenerationState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GenerationFileError(file, `not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new GenerationFileError(file, 'not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== FILE_FORMAT) throw new GenerationFileError(file, `format is ${JSON.stringify(d.format)}, expected "${FILE_FORMAT}"`);
  if (d.version !== FILE_VERSION) throw new GenerationFileError(file, `version ${JSON.stringify(d.version)} is not supported`);
  const state = { current: d.current, history: d.history } as GenerationState;
  try {
    checkState(state, 'stored state');
  } catch (err) {
    throw new GenerationFileError(file, (err as Error).message);
  }
  if (state.history.length > GENERATION_HISTORY_LIMIT) throw new GenerationFileError(file, `history holds ${state.history.length} entries, more than ${GENERATION_HISTORY_LIMIT}`);
  if (d.crc32c !== checksum(state)) throw new GenerationFileError(file, 'checksum mismatch');
  return freeze(state);
}

function checkGenerationId(id: unknown, what: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) throw new TypeError(`${what} must be a non-empty string of at most 128 characters`);
}

function checkState(state: GenerationState, what: string): void {
  if (typeof state !== 'object' || state === null) throw new TypeError(`${what} is not an object`);
  checkGenerationId(state.current, `${what}: current`);
  if (!Array.isArray(state.history)) throw new TypeError(`${what}: history is not an array`);
  for (const id of state.history) checkGenerationId(id, `${what}: history entry`);
}

/** Write a temporary file, fsync it, rename it over the target, fsync the directory: the file is old or new, never torn. */
export async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  const dir = await fsp.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
