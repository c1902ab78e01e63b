/**
 * Depth and complexity limits, checked before anything runs: a validation rule for depth (fragments followed),
 * graphql-query-complexity for cost (1 per field, lists counted by `first` when given, else ×10).
 */
import { GraphQLError, Kind, type ASTNode, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type ValidationContext, type ValidationRule } from 'graphql';
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

/** Lists multiply their children's cost by `first` when the field has it, else by 10. */
const listEstimator: ComplexityEstimator = ({ args, childComplexity, type }) => {
  const named = type.toString();
  if (!named.includes('[') && !named.endsWith('Connection')) return undefined;
  const first = typeof args.first === 'number' ? args.first : 10;
  return 1 + Math.max(childComplexity, 1) * first;
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
