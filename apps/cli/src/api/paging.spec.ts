// fetchAll follows Relay cursors over a fake connection of N items: every page, or the first N; a stuck cursor stops.
import { CliError } from './graphqlClient';
import { fetchAll, FetchPage, Page, parseFirst } from './paging';

/** A connection of `total` numbered items whose cursor is the last item's index; it records each call. */
function fakeConnection(total: number, maxPage: number) {
  const calls: { first: number; after: string | null }[] = [];
  const fetchPage: FetchPage<number> = async (first, after) => {
    calls.push({ first, after });
    const start = after === null ? 0 : Number(after) + 1;
    const items = Array.from({ length: Math.max(0, Math.min(first, maxPage, total - start)) }, (_, i) => start + i);
    const page: Page<number> = {
      edges: items.map((node) => ({ node })),
      pageInfo: { hasNextPage: start + items.length < total, endCursor: items.length > 0 ? String(items[items.length - 1]) : null },
    };
    return page;
  };
  return { fetchPage, calls };
}

describe('fetchAll', () => {
  it('fetches every page until hasNextPage is false', async () => {
    const c = fakeConnection(1234, 500);
    const items = await fetchAll(c.fetchPage, { pageSize: 500 });
    expect(items).toEqual(Array.from({ length: 1234 }, (_, i) => i));
    expect(c.calls).toEqual([
      { first: 500, after: null },
      { first: 500, after: '499' },
      { first: 500, after: '999' },
    ]);
  });

  it('keeps going when the server gives smaller pages than asked', async () => {
    const c = fakeConnection(25, 10);
    expect(await fetchAll(c.fetchPage, { pageSize: 500 })).toHaveLength(25);
    expect(c.calls.map((x) => x.after)).toEqual([null, '9', '19']);
  });

  it('stops at --first N, asking for no more than it needs', async () => {
    const c = fakeConnection(1234, 500);
    const items = await fetchAll(c.fetchPage, { pageSize: 500, limit: 700 });
    expect(items).toEqual(Array.from({ length: 700 }, (_, i) => i));
    expect(c.calls).toEqual([
      { first: 500, after: null },
      { first: 200, after: '499' },
    ]);
  });

  it('one page when everything fits, and an empty connection is an empty list', async () => {
    const small = fakeConnection(3, 500);
    expect(await fetchAll(small.fetchPage, { pageSize: 500 })).toEqual([0, 1, 2]);
    expect(small.calls).toHaveLength(1);
    expect(await fetchAll(fakeConnection(0, 500).fetchPage, { pageSize: 500 })).toEqual([]);
  });

  it('a page that says "more" without a new cursor is an error, not an endless loop', async () => {
    const stuck: FetchPage<number> = async () => ({ edges: [{ node: 1 }], pageInfo: { hasNextPage: true, endCursor: 'same' } });
    await expect(fetchAll(stuck, { pageSize: 10 })).rejects.toThrow(/gave no new cursor/);
    const noCursor: FetchPage<number> = async () => ({ edges: [], pageInfo: { hasNextPage: true, endCursor: null } });
    await expect(fetchAll(noCursor, { pageSize: 10 })).rejects.toBeInstanceOf(CliError);
  });
});

describe('parseFirst', () => {
  it('takes positive whole numbers; anything else is bad input (exit 2)', () => {
    expect(parseFirst(undefined)).toBeUndefined();
    expect(parseFirst('50')).toBe(50);
    for (const bad of ['0', '-1', '1.5', 'ten', '']) {
      expect(() => parseFirst(bad)).toThrow(/--first must be a positive whole number/);
      try {
        parseFirst(bad);
      } catch (err) {
        expect((err as CliError).exitCode).toBe(2);
      }
    }
  });
});
