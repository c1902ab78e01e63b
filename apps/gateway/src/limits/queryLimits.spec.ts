// The cost estimate scales with `first` (the schema's default when absent), nested lists multiply, and the default
// limit refuses a deep query with big pages while admitting the console's fleet tree.
import * as fs from 'fs';
import * as path from 'path';
import { buildSchema, GraphQLError, parse, type OperationDefinitionNode } from 'graphql';
import { ASSUMED_LIST_SIZE, DEFAULT_MAX_COMPLEXITY, queryComplexity } from './queryLimits';
import { operationGuardPlugin } from './operationGuard.plugin';

const schema = buildSchema(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '..', 'docs', 'schema.graphql'), 'utf8'));
const cost = (query: string, variables: Record<string, unknown> = {}): number => queryComplexity(schema, parse(query), variables);

/** The operation guard as the gateway runs it, with the default limit: resolves when accepted, rejects when refused. */
async function guard(query: string): Promise<void> {
  const plugin = operationGuardPlugin({ readsRequireToken: false, maxComplexity: DEFAULT_MAX_COMPLEXITY });
  const listener = await plugin.requestDidStart!({} as never);
  const document = parse(query);
  const operation = document.definitions[0] as OperationDefinitionNode;
  await listener!.didResolveOperation!({ operation, contextValue: { authenticated: true }, schema, document, request: { variables: {} } } as never);
}

const FLEET_TREE = (first: number) => `{
  sites(first: ${first}) { edges { node { id name description
    clusters { id name haStrategy
      nodes { id name health reachable inMaintenance devices { id name state } }
      devices { id name state sizeBytes replicaCount synchronizedCopies replicas { nodeId node { name } } } } } }
    pageInfo { hasNextPage endCursor } }
  storageNodes(first: ${first}) { edges { node { id name clusterId health reachable inMaintenance } } }
  alerts(active: true, first: 200) { totalCount edges { node { id kind severity message raisedAt subject { id kind name } } } }
}`;

describe('query cost', () => {
  it('a connection costs its page: first × its selection, the edges not counted twice', () => {
    // 1 (devices) + first × (1 edges + 1 node + 2 fields)
    expect(cost('{ devices(first: 1) { edges { node { id name } } } }')).toBe(1 + 1 * 4);
    expect(cost('{ devices(first: 50) { edges { node { id name } } } }')).toBe(1 + 50 * 4);
    expect(cost('{ devices(first: 500) { edges { node { id name } } } }')).toBe(1 + 500 * 4);
  });

  it('an absent first counts as the schema default (devices: 100, alerts: 200), also through variables', () => {
    expect(cost('{ devices { edges { node { id } } } }')).toBe(cost('{ devices(first: 100) { edges { node { id } } } }'));
    expect(cost('{ alerts { edges { node { id } } } }')).toBe(1 + 200 * 3);
    expect(cost('query($n: Int!) { devices(first: $n) { edges { node { id } } } }', { n: 400 })).toBe(1 + 400 * 3);
  });

  it('nested lists multiply', () => {
    const nested = cost('{ devices(first: 10) { edges { node { id replicas { nodeId } } } } }');
    expect(nested).toBe(1 + 10 * (1 + 1 + 1 + (1 + ASSUMED_LIST_SIZE * 1)));
    const twice = cost('{ devices(first: 10) { edges { node { replicas { node { devices { id } } } } } } }');
    expect(twice).toBe(1 + 10 * (1 + 1 + (1 + ASSUMED_LIST_SIZE * (1 + (1 + ASSUMED_LIST_SIZE * 1)))));
  });

  it('refuses a deep nested query with big pages, with a clear message', async () => {
    const deep = '{ sites(first: 500) { edges { node { clusters { nodes { devices { replicas { nodeId } } } } } } } }';
    expect(cost(deep)).toBeGreaterThan(DEFAULT_MAX_COMPLEXITY);
    await expect(guard(deep)).rejects.toThrow(/^query complexity \d+ exceeds the limit of 1000000; ask for fewer fields or smaller pages$/);
    const err = await guard(deep).catch((e: GraphQLError) => e);
    expect((err as GraphQLError).extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxComplexity: DEFAULT_MAX_COMPLEXITY });
    // 500 devices, each through its replicas' nodes to their devices' replicas: refused too.
    await expect(guard('{ devices(first: 500) { edges { node { replicas { node { devices { replicas { node { name } } } } } } } } }')).rejects.toThrow(/exceeds the limit/);
    // The console's tree from pages of 500 sites: refused (page it by 100).
    await expect(guard(FLEET_TREE(500))).rejects.toThrow(/exceeds the limit/);
  });

  it('admits the console-sized queries: the fleet tree by pages of 100, and the CLI\'s list pages', async () => {
    expect(cost(FLEET_TREE(100))).toBeLessThan(DEFAULT_MAX_COMPLEXITY);
    await expect(guard(FLEET_TREE(100))).resolves.toBeUndefined();
    await expect(guard('{ sites { edges { node { id name clusters { id name nodes { id name devices { id name sizeBytes } } } } } } }')).resolves.toBeUndefined();
    await expect(
      guard('{ devices(first: 500) { edges { node { id name clusterId sizeBytes sectorSize storeKind cacheMode state replicaCount synchronizedCopies replicas { nodeId priority } createdPosition updatedPosition version } } pageInfo { hasNextPage endCursor } } }'),
    ).resolves.toBeUndefined();
    await expect(guard('{ alerts(first: 1000) { edges { node { id kind severity active message raisedAt clearedAt subject { id kind name } } } pageInfo { hasNextPage endCursor } } }')).resolves.toBeUndefined();
  });
});
