/** Names or ids to ids: `--node node-a` and `--node 3f2c…` both work; an ambiguous or unknown one is refused. */
import { CliError, EXIT, GraphqlClient } from './graphqlClient';
import { listConnection } from './connection';

interface Named {
  id: string;
  name: string;
}

/** Picks the object whose id is `ref`, else the one named `ref`; none is "not found" (3), two of a name bad input (2). */
export function pick(rows: readonly Named[], ref: string, what: string): string {
  const byId = rows.find((r) => r.id === ref);
  if (byId) return byId.id;
  const named = rows.filter((r) => r.name === ref);
  if (named.length === 1) return named[0].id;
  if (named.length > 1) throw new CliError(`${named.length} ${what}s are named "${ref}" (${named.map((r) => r.id).join(', ')}): give the id`, EXIT.badInput);
  throw new CliError(`no ${what} with id or name "${ref}"`, EXIT.notFound);
}

/** Resolves storage-node references (names or ids) with one listing. */
export async function resolveNodes(client: GraphqlClient, refs: readonly string[]): Promise<string[]> {
  const rows = await listConnection<Named>(client, { field: 'storageNodes', pageSize: 500, fields: 'id name' });
  return refs.map((ref) => pick(rows, ref, 'storage node'));
}

/** Resolves a cluster reference (name or id). */
export async function resolveCluster(client: GraphqlClient, ref: string): Promise<string> {
  const rows = await listConnection<Named>(client, { field: 'clusters', pageSize: 500, fields: 'id name' });
  return pick(rows, ref, 'cluster');
}
