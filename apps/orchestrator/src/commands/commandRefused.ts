import type { ContractProblem, ErrorCode } from '@tandem/contracts';

/** A command the rules refuse; nothing is written. `code` travels in NATS replies and GraphQL `extensions.code`. */
export class CommandRefused extends Error {
  override readonly name = 'CommandRefused';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly problems?: readonly ContractProblem[],
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new CommandRefused('NOT_FOUND', `${what} ${id} not found`);
export const conflict = (message: string) => new CommandRefused('CONFLICT', message);
export const badInput = (path: string, message: string) => new CommandRefused('BAD_USER_INPUT', `${path}: ${message}`, [{ path, message }]);
