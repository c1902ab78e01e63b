import type { ZodIssue } from 'zod';

/** One thing wrong with a payload: where (dotted path, `(root)` for the payload itself) and why. */
export interface ContractProblem {
  path: string;
  message: string;
}

/**
 * A payload crossed a boundary (NATS, GraphQL, the event log) without matching its declared contract.
 * The message lists every problem so an operator can fix them all in one go.
 */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';

  constructor(
    /** `event SiteCreated v1`, `command CreateSite v1`, `subject tandem.cmd.site.create`, … */
    readonly contract: string,
    readonly problems: readonly ContractProblem[],
  ) {
    super(`${contract}: ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }

  static fromZodIssues(contract: string, issues: readonly ZodIssue[]): ContractViolation {
    return new ContractViolation(
      contract,
      issues.map((issue) => ({ path: issue.path.length === 0 ? '(root)' : issue.path.join('.'), message: issue.message })),
    );
  }
}
