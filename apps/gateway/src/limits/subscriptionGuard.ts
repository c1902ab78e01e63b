/**
 * graphql-ws does its own parse/validate, outside Apollo's plugins: the same checks (token, depth, complexity)
 * are applied here before a subscription (or a mutation sent over the socket) starts.
 */
import { GraphQLError, getOperationAST, parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { isAuthorized } from '../auth/bearerToken';
import { complexityError, depthLimitRule, queryComplexity } from './queryLimits';

export interface SubscriptionGuardOptions {
  apiToken: string;
  readsRequireToken: boolean;
  maxDepth: number;
  maxComplexity: number;
  schema: () => GraphQLSchema | undefined;
}

/** `connectionParams.authorization` (or `Authorization`): the Bearer header a browser cannot set on a WebSocket. */
export function connectionAuthorization(connectionParams: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const value = connectionParams?.authorization ?? connectionParams?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

const unauthenticated = (what: string) =>
  new GraphQLError(`${what} need \`authorization: "Bearer <token>"\` in the graphql-ws connection params`, { extensions: { code: 'UNAUTHENTICATED' } });

export function subscriptionGuard(options: SubscriptionGuardOptions) {
  return {
    onConnect(ctx: { connectionParams?: Readonly<Record<string, unknown>> }): boolean {
      return !options.readsRequireToken || isAuthorized(connectionAuthorization(ctx.connectionParams), options.apiToken);
    },
    onSubscribe(
      ctx: { connectionParams?: Readonly<Record<string, unknown>> },
      _id: string,
      payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
    ): readonly GraphQLError[] | void {
      const schema = options.schema();
      if (!schema) return [new GraphQLError('the gateway is still starting', { extensions: { code: 'INTERNAL' } })];
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [error as GraphQLError];
      }
      const errors = validate(schema, document, [...specifiedRules, depthLimitRule(options.maxDepth)]);
      if (errors.length > 0) return errors;
      const operation = getOperationAST(document, payload.operationName ?? undefined);
      if (operation?.operation === 'mutation' && !isAuthorized(connectionAuthorization(ctx.connectionParams), options.apiToken)) return [unauthenticated('mutations')];
      const complexity = queryComplexity(schema, document, payload.variables ?? undefined, payload.operationName);
      if (complexity > options.maxComplexity) return [complexityError(complexity, options.maxComplexity)];
    },
  };
}
