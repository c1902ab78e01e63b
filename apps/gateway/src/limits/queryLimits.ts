/**
 * Depth and complexity limits, checked before anything runs: a validation rule for depth (fragments followed),
 * graphql-query-complexity for cost (1 per field; connections × their `first`, the schema's default when absent;
 * plain lists × 10; nested ones multiply).
 */
import { getNamedType, getNullableType, GraphQLError, isListType, isObjectType, Kind, type ASTNode, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type ValidationContext, type ValidationRule } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';

export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    const depthOf = (node: ASTNode, depth: number, seen: Set<string>): number => {
      if (!('selectionSet' in node) || !node.selectionSet) return depth;
      let deepest = depth;
      for (const selection of node.selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          // Introspection's own nesting (`__schema { types { fields { type { ofType … } } } }`) is not counted.
          if (selection.name.value.startsWith('__')) continue;
          deepest = Math.max(deepest, depthOf(selection, depth + 1, seen));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection, depth, seen));
        } else {
          const fragment = fragments.get(selection.name.value);
          if (fragment && !seen.has(fragment.name.value)) deepest = Math.max(deepest, depthOf(fragment, depth, new Set([...seen, fragment.name.value])));
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation, 0, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`query depth ${depth} exceeds the limit of ${maxDepth} (operation ${operation.name?.value ?? '(anonymous)'}); ask for fewer nested levels`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_DEEP', maxDepth, depth },
            }),
          );
        }
      },
    };
  };
}

/**
 * The default cost limit (TANDEM_GATEWAY_MAX_COMPLEXITY). It admits the console's fleet tree, sites(first: 100) →
 * clusters → nodes → devices with a few fields per level (about 740,000 at 10 per plain list), and refuses the same
 * tree from a page of 500 sites (3.7 million) or a page of 500 devices nested three lists deep (over a million).
 */
export const DEFAULT_MAX_COMPLEXITY = 1_000_000;

/** What a plain list (no `first`: a cluster's nodes, a node's devices, a device's replicas) is assumed to hold. */
export const ASSUMED_LIST_SIZE = 10;

/**
 * Cost = the fields the answer can hold. A connection (`…Connection`) multiplies its selection by its `first`
 * argument, the schema's default when the query leaves it out (`devices` without `first` is 100 devices); its
 * `edges` list is that page, not multiplied again. A plain list multiplies its selection by ASSUMED_LIST_SIZE.
 * Nested lists multiply: sites(first: 100) → clusters → nodes → devices is 100 × 10 × 10 × 10 devices.
 */
const listEstimator: ComplexityEstimator = ({ args, childComplexity, type, field }) => {
  const returned = getNullableType(field.type);
  const named = getNamedType(returned);
  if (isObjectType(named) && named.name.endsWith('Connection')) {
    const first = typeof args.first === 'number' ? Math.max(0, args.first) : ASSUMED_LIST_SIZE;
    return 1 + Math.max(childComplexity, 1) * first;
  }
  if (!isListType(returned)) return undefined;
  // A connection's edges are the page the connection already counted.
  if (type.name.endsWith('Connection')) return 1 + childComplexity;
  return 1 + Math.max(childComplexity, 1) * ASSUMED_LIST_SIZE;
};

export function queryComplexity(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName?: string | null): number {
  return getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    operationName: operationName ?? undefined,
    estimators: [fieldExtensionsEstimator(), listEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
}

export function complexityError(complexity: number, maxComplexity: number): GraphQLError {
  return new GraphQLError(`query complexity ${complexity} exceeds the limit of ${maxComplexity}; ask for fewer fields or smaller pages`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', complexity, maxComplexity, http: { status: 400 } },
  });
}
