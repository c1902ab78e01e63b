/** What wraps a payload on the wire: event metadata, the command message on NATS, and the command reply. */
import { z } from 'zod';
import { idSchema } from './common';

/** `user:<name>`, `node:<nodeId>`, `system:<component>`: who caused it, for audit. */
export const actorSchema = z.string().regex(/^(user|node|system):[^\s]{1,128}$/, 'must look like user:<name>, node:<id> or system:<component>');

/**
 * Stored with every event. `correlationId` ties everything one request caused; `causationId` is the id of the
 * command or event that directly caused this one. Unknown keys are kept (forward compatible).
 */
export const eventMetadataSchema = z
  .object({
    correlationId: idSchema,
    causationId: idSchema.optional(),
    actor: actorSchema,
  })
  .passthrough();
export type EventMetadata = z.output<typeof eventMetadataSchema>;

export const commandMetadataSchema = z.object({ correlationId: idSchema.optional(), actor: actorSchema }).strict();

/** A command request on NATS (`tandem.cmd.<aggregate>.<verb>`); `commandId` makes retries idempotent. */
export const commandMessageSchema = z
  .object({
    commandId: idSchema,
    type: z.string().min(1),
    schemaVersion: z.number().int().min(1),
    /** Stream version the caller based its decision on; omitted = no expectation. */
    expectedVersion: z.number().int().min(0).optional(),
    payload: z.unknown(),
    metadata: commandMetadataSchema,
  })
  .strict();
export type CommandMessage = z.output<typeof commandMessageSchema>;

/** Error codes shared by NATS replies and GraphQL `extensions.code`. */
export const errorCodeSchema = z.enum(['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'UNAUTHENTICATED', 'INTERNAL']);
export type ErrorCode = z.output<typeof errorCodeSchema>;

export const commandReplySchema = z.discriminatedUnion('ok', [
  z
    .object({
      ok: z.literal(true),
      commandId: idSchema,
      /** Id of the aggregate the command created or changed. */
      aggregateId: idSchema,
      /** Stream version and global position of the last event written (undefined when nothing had to change). */
      streamVersion: z.number().int().min(0).optional(),
      globalPosition: z.number().int().min(0).optional(),
    })
    .strict(),
  z
    .object({
      ok: z.literal(false),
      commandId: idSchema.optional(),
      error: z.object({ code: errorCodeSchema, message: z.string(), problems: z.array(z.object({ path: z.string(), message: z.string() })).optional() }).strict(),
    })
    .strict(),
]);
export type CommandReply = z.output<typeof commandReplySchema>;
