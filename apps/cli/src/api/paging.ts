/** Follows a Relay connection's cursors: every page (pageInfo.hasNextPage/endCursor) unless a limit stops it first. */
import { CliError, EXIT } from './graphqlClient';

export interface Page<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Fetches one page of at most `first` items after `after` (null: from the start). */
export type FetchPage<T> = (first: number, after: string | null) => Promise<Page<T>>;

/**
 * Every item, page by page (`pageSize` each, the API's maximum for that list), or the first `limit` of them.
 * A page that says there is more but does not move its cursor is an API fault, not an endless loop.
 */
export async function fetchAll<T>(fetchPage: FetchPage<T>, options: { pageSize: number; limit?: number }): Promise<T[]> {
  const { pageSize, limit } = options;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, not ${pageSize}`);
  const items: T[] = [];
  let after: string | null = null;
  for (;;) {
    const wanted = limit === undefined ? pageSize : Math.min(pageSize, limit - items.length);
    if (wanted <= 0) return items;
    const page = await fetchPage(wanted, after);
    for (const edge of page.edges) items.push(edge.node);
    if (!page.pageInfo.hasNextPage) return limit === undefined ? items : items.slice(0, limit);
    const next = page.pageInfo.endCursor;
    if (next === null || next === after || page.edges.length === 0) {
      throw new CliError(`the API said there are more items but gave no new cursor (after ${after ?? 'the start'}); stopped paging`, EXIT.failed);
    }
    after = next;
  }
}

/** `--first N`: a positive whole number, else bad input (exit 2). */
export function parseFirst(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new CliError(`--first must be a positive whole number, not "${text}"`, EXIT.badInput);
  }
  return Number(text);
}
