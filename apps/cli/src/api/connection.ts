/** A list verb's query: one Relay connection of the API, every page of it (or the first N) through fetchAll. */
import { Command } from 'commander';
import { GraphqlClient } from './graphqlClient';
import { fetchAll, Page, parseFirst } from './paging';

export interface ConnectionQuery {
  /** The Query field, e.g. `devices`. */
  field: string;
  /** The API's largest page for that field. */
  pageSize: number;
  /** Its selection for each node. */
  fields: string;
  /** Extra filter variables: name → GraphQL type (e.g. `clusterId: 'ID'`), passed as `field(name: $name)`. */
  filters?: Record<string, string>;
}

/** Every node of the connection that matches `filters`' values, or the first `limit`. */
export function listConnection<T>(client: GraphqlClient, q: ConnectionQuery, values: Record<string, unknown> = {}, limit?: number): Promise<T[]> {
  const filters = Object.entries(q.filters ?? {});
  const decl = ['$first: Int!', '$after: String', ...filters.map(([name, type]) => `$${name}: ${type}`)].join(', ');
  const args = ['first: $first', 'after: $after', ...filters.map(([name]) => `${name}: $${name}`)].join(', ');
  const query = `query(${decl}) { ${q.field}(${args}) { edges { node { ${q.fields} } } pageInfo { hasNextPage endCursor } } }`;
  return fetchAll<T>(
    async (first, after) => (await client.request<Record<string, Page<T>>>(query, { ...values, first, after }))[q.field],
    { pageSize: q.pageSize, limit },
  );
}

/** `--first N` on a list verb. */
export function withFirstOption(cmd: Command): Command {
  return cmd.option('--first <n>', 'only the first N items (default: every page)');
}

export const firstOf = (opts: Record<string, unknown>): number | undefined => parseFirst(opts.first as string | undefined);
