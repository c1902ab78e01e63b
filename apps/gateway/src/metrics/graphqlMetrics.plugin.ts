/** An Apollo plugin timing every GraphQL request into a histogram by operation name and type (and whether it erred). */
import type { ApolloServerPlugin } from '@apollo/server';
import { Histogram, type Registry } from 'prom-client';

export function graphqlMetricsPlugin(registry: Registry): ApolloServerPlugin {
  const duration = new Histogram({
    name: 'tandem_graphql_request_duration_seconds',
    help: 'GraphQL request duration over HTTP, from receipt to response, by operation',
    labelNames: ['operation', 'type', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse(ctx) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          // Anonymous operations and unparsable requests share one label value: names are chosen by clients, unknown ones are not.
          duration.observe({ operation: ctx.operationName ?? ctx.request.operationName ?? 'anonymous', type: ctx.operation?.operation ?? 'unknown', outcome: ctx.errors?.length ? 'error' : 'ok' }, seconds);
        },
      };
    },
  };
}
