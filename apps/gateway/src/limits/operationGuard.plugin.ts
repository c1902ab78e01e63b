/**
 * Runs after parsing and validation, before anything executes: mutations (and reads, when configured) need the
 * token, and the query's complexity must stay under the limit. Refusing here means nothing reaches NATS.
 */
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../context';
import { complexityError, queryComplexity } from './queryLimits';

export function operationGuardPlugin(options: { readsRequireToken: boolean; maxComplexity: number }): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart(): Promise<GraphQLRequestListener<GatewayContext>> {
      return {
        async didResolveOperation({ operation, contextValue, schema, document, request }) {
          const isMutation = operation?.operation === 'mutation';
          if ((isMutation || options.readsRequireToken) && !contextValue.authenticated) {
            throw new GraphQLError(`${isMutation ? 'mutations' : 'this gateway'} need an \`Authorization: Bearer <token>\` header with the gateway token (TANDEM_API_TOKEN)`, {
              extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
            });
          }
          const complexity = queryComplexity(schema, document, request.variables, request.operationName);
          if (complexity > options.maxComplexity) throw complexityError(complexity, options.maxComplexity);
        },
      };
    },
  };
}
