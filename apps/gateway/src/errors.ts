/** GraphQL errors carry the contracts' codes in `extensions.code` (and the per-field problems when there are some). */
import type { ContractProblem, ErrorCode } from '@tandem/contracts';
import { ContractViolation } from '@tandem/contracts';
import { GraphQLError } from 'graphql';

export function gatewayError(code: ErrorCode, message: string, problems?: readonly ContractProblem[]): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...(problems && problems.length > 0 ? { problems } : {}) } });
}

export const unauthenticated = (): GraphQLError =>
  gatewayError('UNAUTHENTICATED', 'this operation needs an `Authorization: Bearer <token>` header with the gateway token (TANDEM_API_TOKEN)');

export function badInput(error: unknown): GraphQLError {
  if (error instanceof ContractViolation) return gatewayError('BAD_USER_INPUT', error.message, error.problems);
  return gatewayError('BAD_USER_INPUT', error instanceof Error ? error.message : String(error));
}
