/** Byte counts and global positions exceed GraphQL's 32-bit Int: `SafeInt` carries integers exact up to 2^53 − 1. */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

function safeInteger(value: unknown): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new GraphQLError(`SafeInt must be an integer between −(2^53 − 1) and 2^53 − 1, got ${JSON.stringify(value)}`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return n;
}

export const SafeIntScalar = new GraphQLScalarType({
  name: 'SafeInt',
  description: 'An integer exact up to 2^53 − 1 (byte counts, global positions). Accepts a number or a decimal string.',
  serialize: safeInteger,
  parseValue: safeInteger,
  parseLiteral(ast: ValueNode) {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return safeInteger(ast.value);
    throw new GraphQLError('SafeInt must be an integer literal', { extensions: { code: 'BAD_USER_INPUT' } });
  },
});

function literalValue(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalValue);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalValue(f.value)]));
    default:
      throw new GraphQLError('JSON literals cannot use variables inside');
  }
}

/** Event data and metadata: whatever the event's contract says, as JSON. */
export const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalValue,
});
