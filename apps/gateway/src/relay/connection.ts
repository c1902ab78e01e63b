/**
 * Relay cursor connections: PageInfo, the Edge/Connection type factory, opaque cursors (base64url of the sort key)
 * and forward paging over a sorted list, shared by every top-level list of the schema.
 */
import type { Type } from '@nestjs/common';
import { Field, Int, ObjectType, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { gatewayError } from '../errors';

@ObjectType({ description: 'Relay page information; lists are paged forward only (`first` / `after`).' })
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field({ description: 'Always false: lists are paged forward only.' }) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  /** A number, or a count run only when `totalCount` is asked for (see totalCountResolver). */
  totalCount: number | (() => Promise<number>);
}

/** `FooConnection { edges: [FooEdge!]! pageInfo totalCount }` and `FooEdge { cursor node }` for one node type. */
export function ConnectionType<T>(node: Type<T>, name: string): Type<Connection<T>> {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field({ description: 'Opaque; pass it as `after` to continue after this item.' }) cursor!: string;
    @Field(() => node) node!: T;
  }
  @ObjectType({ isAbstract: true })
  class ConnectionBase {
    @Field(() => [EdgeType]) edges!: Edge<T>[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Int, { description: 'Items matching the filters, over every page.' }) totalCount!: number | (() => Promise<number>);
  }
  return ConnectionBase;
}

/** Resolves `totalCount` of one connection type, running its count only when a query asks for it. */
export function totalCountResolver(connection: Type<Connection<unknown>>): Type<unknown> {
  @Resolver(() => connection)
  class TotalCount {
    @ResolveField(() => Int, { description: 'Items matching the filters, over every page.' })
    totalCount(@Parent() page: Connection<unknown>): number | Promise<number> {
      return typeof page.totalCount === 'function' ? page.totalCount() : page.totalCount;
    }
  }
  // Nest tells providers apart by class; a distinct name keeps its logs and errors readable.
  Object.defineProperty(TotalCount, 'name', { value: `${connection.name}TotalCount` });
  return TotalCount;
}

/** A sort key: the values a list is ordered by, the id last so it is total. */
export type SortKey = readonly (string | number)[];

export function encodeCursor(kind: string, key: SortKey): string {
  return Buffer.from(JSON.stringify([kind, ...key])).toString('base64url');
}

/** The key inside a cursor of `kind` with `arity` values; anything else is BAD_USER_INPUT. */
export function decodeCursor(kind: string, cursor: string, shape: readonly ('string' | 'number')[]): SortKey {
  const refuse = () => gatewayError('BAD_USER_INPUT', `after: ${JSON.stringify(cursor.slice(0, 100))} is not a ${kind} cursor from this API`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length + 1 || parsed[0] !== kind) throw refuse();
  const key = parsed.slice(1) as (string | number)[];
  if (!key.every((v, i) => typeof v === shape[i] && (typeof v !== 'number' || Number.isSafeInteger(v)))) throw refuse();
  return key;
}

/** `first` within 1..max, else BAD_USER_INPUT. */
export function assertFirst(first: number, max: number): void {
  if (!Number.isInteger(first) || first < 1 || first > max) throw gatewayError('BAD_USER_INPUT', `first: must be between 1 and ${max}`);
}

/** Byte order of UTF-8, as Postgres's `COLLATE "C"` sorts: the in-memory and the SQL pages agree. */
export const compareText = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** (name, id) order, the order of every fleet list. */
export const compareNameKey = (a: SortKey, b: SortKey): number => compareText(String(a[0]), String(b[0])) || compareText(String(a[1]), String(b[1]));

/**
 * A connection from `rows` fetched in order with one row more than `first` (that extra row only says a next page
 * exists). `keyOf` gives each row's sort key for its cursor.
 */
export function connectionOf<R, T>(
  kind: string,
  rows: readonly R[],
  first: number,
  keyOf: (row: R) => SortKey,
  toNode: (row: R) => T,
  totalCount: number | (() => Promise<number>),
): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((row) => ({ cursor: encodeCursor(kind, keyOf(row)), node: toNode(row) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges[edges.length - 1]?.cursor ?? null },
    totalCount,
  };
}

/**
 * Forward paging over a whole list held in memory, sorted by `compare`: the rows after `after` (by key, so a cursor
 * whose row has gone since still places the page), then `first` of them.
 */
export function pageInMemory<R, T>(
  kind: string,
  sorted: readonly R[],
  options: { first: number; after?: SortKey; keyOf: (row: R) => SortKey; compare: (a: SortKey, b: SortKey) => number; toNode: (row: R) => T },
): Connection<T> {
  const { after, keyOf, compare } = options;
  const start = after ? sorted.findIndex((row) => compare(keyOf(row), after) > 0) : 0;
  const rest = start < 0 ? [] : sorted.slice(start, start + options.first + 1);
  return connectionOf(kind, rest, options.first, keyOf, options.toNode, sorted.length);
}
