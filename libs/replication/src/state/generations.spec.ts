import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { GENERATION_HISTORY_LIMIT, GenerationFileError, GenerationStore, compareGenerations, type GenerationState } from './generations';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tandem-generations-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('compareGenerations', () => {
  const a: GenerationState = { current: 'g3', history: ['g2', 'g1'] };
  it('same current → same', () => {
    expect(compareGenerations(a, { current: 'g3', history: ['g2', 'g1'] })).toBe('same');
    expect(compareGenerations(a, { current: 'g3', history: [] })).toBe('same');
  });
  it('the peer is one of our ancestors → local-newer', () => {
    expect(compareGenerations(a, { current: 'g2', history: ['g1'] })).toBe('local-newer');
    expect(compareGenerations(a, { current: 'g1', history: [] })).toBe('local-newer');
  });
  it('we are one of the peer’s ancestors → peer-newer', () => {
    expect(compareGenerations(a, { current: 'g5', history: ['g4', 'g3', 'g2'] })).toBe('peer-newer');
  });
  it('both went on alone from a common ancestor → diverged', () => {
    expect(compareGenerations(a, { current: 'x4', history: ['g2', 'g1'] })).toBe('diverged');
    expect(compareGenerations({ current: 'a', history: [] }, { current: 'b', history: [] })).toBe('diverged');
  });
});

describe('GenerationStore', () => {
  it('creates the file with the given initial generation, and reads it back', async () => {
    const file = path.join(dir, 'generation.json');
    const store = await GenerationStore.open(file, 'shared-at-creation');
    expect(store.state).toEqual({ current: 'shared-at-creation', history: [] });
    const again = await GenerationStore.open(file, 'ignored-when-the-file-exists');
    expect(again.state).toEqual({ current: 'shared-at-creation', history: [] });
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });

  it('starts with a fresh uuid when no initial generation is given', async () => {
    const store = await GenerationStore.open(path.join(dir, 'g.json'));
    expect(store.state.current).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('startNew moves current into history, persists, and makes the partner compare older', async () => {
    const file = path.join(dir, 'g.json');
    const local = await GenerationStore.open(file, 'g0');
    const partner: GenerationState = { current: 'g0', history: [] };
    const next = await local.startNew();
    expect(local.state).toEqual({ current: next, history: ['g0'] });
    expect(compareGenerations(local.state, partner)).toBe('local-newer');
    expect(compareGenerations(partner, local.state)).toBe('peer-newer');
    expect((await GenerationStore.open(file)).state).toEqual(local.state);
  });

  it('both partners starting new generations alone diverge', async () => {
    const a = await GenerationStore.open(path.join(dir, 'a.json'), 'g0');
    const b = await GenerationStore.open(path.join(dir, 'b.json'), 'g0');
    await a.startNew();
    await b.startNew();
    expect(compareGenerations(a.state, b.state)).toBe('diverged');
  });

  it('adopt takes the peer’s state after a resync', async () => {
    const file = path.join(dir, 'g.json');
    const store = await GenerationStore.open(file, 'old');
    const peer: GenerationState = { current: 'new', history: ['mid', 'old'] };
    await store.adopt(peer);
    expect(compareGenerations(store.state, peer)).toBe('same');
    peer.history.push('mutating the caller’s object does not reach the store');
    expect((await GenerationStore.open(file)).state).toEqual({ current: 'new', history: ['mid', 'old'] });
    await expect(store.adopt({ current: '', history: [] })).rejects.toThrow(TypeError);
    expect(store.state.current).toBe('new');
  });

  it('keeps at most 64 ancestors, newest first', async () => {
    const store = await GenerationStore.open(path.join(dir, 'g.json'), 'first');
    const ids: string[] = ['first'];
    for (let i = 0; i < GENERATION_HISTORY_LIMIT + 10; i++) ids.unshift(await store.startNew());
    expect(store.state.current).toBe(ids[0]);
    expect(store.state.history).toEqual(ids.slice(1, 1 + GENERATION_HISTORY_LIMIT));
    expect(store.state.history).not.toContain('first');
    await store.adopt({ current: 'p', history: Array.from({ length: 100 }, (_, i) => `h${i}`) });
    expect(store.state.history).toHaveLength(GENERATION_HISTORY_LIMIT);
  });

  it('serializes concurrent changes', async () => {
    const store = await GenerationStore.open(path.join(dir, 'g.json'), 'g0');
    const [x, y] = await Promise.all([store.startNew(), store.startNew()]);
    expect(store.state).toEqual({ current: y, history: [x, 'g0'] });
  });

  it('refuses a file it cannot parse, naming it, and leaves it untouched', async () => {
    const file = path.join(dir, 'g.json');
    for (const bad of ['', '{"format":"tandem-generations"', '[]', '{"format":"other"}']) {
      writeFileSync(file, bad);
      await expect(GenerationStore.open(file)).rejects.toThrow(GenerationFileError);
      await expect(GenerationStore.open(file)).rejects.toThrow(file);
      expect(readFileSync(file, 'utf8')).toBe(bad);
    }
  });

  it('detects a damaged id through the checksum', async () => {
    const file = path.join(dir, 'g.json');
    await GenerationStore.open(file, 'abcdef');
    writeFileSync(file, readFileSync(file, 'utf8').replace('abcdef', 'abcdeF'));
    await expect(GenerationStore.open(file)).rejects.toThrow(/checksum/);
  });
});
