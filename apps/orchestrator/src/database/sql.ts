/** Schema names are configuration, validated (never escaped) before they reach SQL. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid schema name ${JSON.stringify(name)}: use lower-case letters, digits and "_" (≤ 63)`);
  return name;
}

export const quoteIdent = (name: string): string => `"${assertIdentifier(name)}"`;

/** Postgres `bigint` arrives as a string; sizes and positions stay exact JS numbers. */
export const bigintColumn = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/** The SQLSTATE and constraint of a failed statement, whatever wrapped it (TypeORM's QueryFailedError or pg's error). */
export function driverError(error: unknown): { code?: string; constraint?: string; detail?: string } {
  const e = error as { driverError?: { code?: string; constraint?: string; detail?: string }; code?: string; constraint?: string; detail?: string } | undefined;
  return e?.driverError ?? e ?? {};
}
