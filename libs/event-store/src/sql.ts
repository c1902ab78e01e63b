/** Identifiers are validated, never escaped from user input: a schema name is configuration. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid schema name ${JSON.stringify(name)}: use lower-case letters, digits and "_" (≤ 63)`);
  return name;
}

export const quoteIdent = (name: string): string => `"${assertIdentifier(name)}"`;

/** Postgres `bigint` arrives as a string; positions and versions stay exact JS numbers or the read fails. */
export function toSafeNumber(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`${what} ${value} is beyond Number.MAX_SAFE_INTEGER`);
  return n;
}
