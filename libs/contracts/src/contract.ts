/**
 * `defineEvent` / `defineCommand`: a contract is a type name, a schema version and a zod schema, plus the
 * aggregate it belongs to and the NATS subject it travels on (derived, so names and subjects never drift).
 */
import type { z } from 'zod';
import { commandSubject, eventSubject } from './subjects';

export interface EventContract<TType extends string = string, TSchema extends z.ZodTypeAny = z.ZodTypeAny> {
  readonly kind: 'event';
  readonly type: TType;
  readonly schemaVersion: number;
  readonly schema: TSchema;
  /** `site`, `cluster`, `node`, `device`: the kind of stream the event is appended to. */
  readonly aggregate: string;
  readonly subject: string;
}

export interface CommandContract<TType extends string = string, TSchema extends z.ZodTypeAny = z.ZodTypeAny> {
  readonly kind: 'command';
  readonly type: TType;
  readonly schemaVersion: number;
  readonly schema: TSchema;
  readonly aggregate: string;
  readonly verb: string;
  readonly subject: string;
}

const words = (pascal: string): string[] => pascal.match(/[A-Z][a-z0-9]*/g) ?? [];

function assertTypeName(type: string): void {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(type) || words(type).length < 2) {
    throw new Error(`contract type ${JSON.stringify(type)} must be PascalCase with at least two words (e.g. SiteCreated, CreateSite)`);
  }
}

function assertSchemaVersion(type: string, schemaVersion: number): void {
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) throw new Error(`${type}: schema version must be an integer ≥ 1`);
}

/** `SiteCreated` → aggregate `site`; `NodeMaintenanceEntered` → `node`. Override with `options.aggregate`. */
export function defineEvent<TType extends string, TSchema extends z.ZodTypeAny>(
  type: TType,
  schemaVersion: number,
  schema: TSchema,
  options: { aggregate?: string } = {},
): EventContract<TType, TSchema> {
  assertTypeName(type);
  assertSchemaVersion(type, schemaVersion);
  const aggregate = options.aggregate ?? words(type)[0].toLowerCase();
  return Object.freeze({ kind: 'event', type, schemaVersion, schema, aggregate, subject: eventSubject(aggregate, type) });
}

/**
 * `CreateSite` → `tandem.cmd.site.create`; `AddNodeToCluster` → `tandem.cmd.node.add-to-cluster`;
 * `EnterNodeMaintenance` → `tandem.cmd.node.enter-maintenance`. Override with `options`.
 */
export function defineCommand<TType extends string, TSchema extends z.ZodTypeAny>(
  type: TType,
  schemaVersion: number,
  schema: TSchema,
  options: { aggregate?: string; verb?: string } = {},
): CommandContract<TType, TSchema> {
  assertTypeName(type);
  assertSchemaVersion(type, schemaVersion);
  const [first, second, ...rest] = words(type).map((w) => w.toLowerCase());
  const aggregate = options.aggregate ?? second;
  const verb = options.verb ?? [first, ...rest].join('-');
  return Object.freeze({ kind: 'command', type, schemaVersion, schema, aggregate, verb, subject: commandSubject(aggregate, verb) });
}
