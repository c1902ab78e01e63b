/**
 * Refusals a client can act on are data, not transport errors ("payload with typed errors"): each mutation's payload
 * lists them in `errors` as objects implementing `UserError`. Transport-level failures stay in `extensions.code`.
 */
import { Field, InterfaceType, ObjectType, registerEnumType } from '@nestjs/graphql';
import type { ContractProblem, ErrorCode } from '@tandem/contracts';
import { GraphQLError } from 'graphql';
import type { Typed } from '../relay/node.interface';

export enum UserErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
}
registerEnumType(UserErrorCode, { name: 'UserErrorCode', description: 'The same codes `extensions.code` carried before errors became data.' });

@InterfaceType('UserError', { description: 'A refusal of the input or of the current state; nothing was written.', resolveType: (value: Typed) => value.__typename })
export abstract class UserError {
  @Field() message!: string;
  @Field(() => UserErrorCode) code!: UserErrorCode;
  __typename?: string;
}

@ObjectType({ description: 'One field the contracts refused.' })
export class FieldProblem {
  @Field({ description: 'Dotted path in the input, e.g. `replicas.1.nodeId`.' }) path!: string;
  @Field() message!: string;
}

@ObjectType({ implements: () => [UserError], description: 'The input breaks the contracts (checked before sending) or a rule the orchestrator checks (e.g. distinct priorities).' })
export class InvalidInputError extends UserError {
  @Field(() => [FieldProblem]) problems!: FieldProblem[];
}

@ObjectType({ implements: () => [UserError], description: 'An id in the input names nothing (or something deleted).' })
export class NotFoundError extends UserError {}

@ObjectType({ implements: () => [UserError], description: 'The fleet as it is forbids it now (duplicate name, not empty, wrong state).' })
export class ConflictError extends UserError {}

export type AnyUserError = InvalidInputError | NotFoundError | ConflictError;
export const USER_ERROR_TYPES = [InvalidInputError, NotFoundError, ConflictError] as const;

const TYPENAMES: Record<UserErrorCode, string> = { BAD_USER_INPUT: 'InvalidInputError', NOT_FOUND: 'NotFoundError', CONFLICT: 'ConflictError' };

/** The user error a refusal maps to, or undefined when it is a transport error (UNAUTHENTICATED, INTERNAL, …). */
export function userErrorOf(error: unknown): AnyUserError | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  const code = error.extensions?.code as ErrorCode | undefined;
  if (code !== 'BAD_USER_INPUT' && code !== 'NOT_FOUND' && code !== 'CONFLICT') return undefined;
  const base = { __typename: TYPENAMES[code], code: code as UserErrorCode, message: error.message };
  if (code !== 'BAD_USER_INPUT') return base;
  const problems = (error.extensions?.problems as readonly ContractProblem[] | undefined) ?? [];
  return { ...base, problems: problems.map((p) => ({ path: p.path, message: p.message })) };
}
