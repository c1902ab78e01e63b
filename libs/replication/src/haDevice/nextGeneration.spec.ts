import { nextGenerationId } from './arbitration';

describe('nextGenerationId (the generation a group moves to when a replica leaves)', () => {
  const g = '6f1c2b1e-52a0-4c55-9a43-0d3f8f1c2b1e';

  it('is the same on every member that drops the same replica, whatever order they list the members in', () => {
    expect(nextGenerationId(g, ['node-a', 'node-c'])).toBe(nextGenerationId(g, ['node-c', 'node-a']));
  });

  it('differs when the remaining members differ (two sides that went on alone diverge) or the old generation differs', () => {
    const ids = new Set([nextGenerationId(g, ['node-a']), nextGenerationId(g, ['node-b']), nextGenerationId(g, ['node-a', 'node-b']), nextGenerationId(nextGenerationId(g, ['node-a']), ['node-a'])]);
    expect(ids.size).toBe(4);
  });

  it('looks like a version-4 uuid', () => {
    expect(nextGenerationId(g, ['x'])).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
