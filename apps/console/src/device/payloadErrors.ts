/** A mutation payload's typed errors (ConflictError, InvalidInputError with its field problems, NotFoundError) as the text shown to the operator. */

export interface PayloadError {
  __typename: string;
  code: string;
  message: string;
  problems?: { path: string; message: string }[];
}

/** Null when the payload has no errors (the command was accepted). */
export function payloadErrorText(errors: readonly PayloadError[] | null | undefined): string | null {
  if (!errors || errors.length === 0) return null;
  return errors
    .map((e) => {
      const problems = (e.problems ?? []).map((p) => `${p.path}: ${p.message}`).filter((p) => !e.message.includes(p));
      return problems.length > 0 ? `${e.message} (${problems.join('; ')})` : e.message;
    })
    .join('\n');
}
