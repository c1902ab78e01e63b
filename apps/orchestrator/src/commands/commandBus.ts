/**
 * The command bus: validate with the contracts, let the use case decide, append with the expected stream version
 * and update the command guards in the same transaction, and answer with the contracts' reply shape. Refusals
 * (bad input, unknown ids, conflicts) write nothing. Used in-process (tests, the gateway) and behind NATS.
 */
import { createHash, randomUUID } from 'crypto';
import { ContractViolation, tandemContracts, type CommandReply, type TandemCommandType } from '@tandem/contracts';
import { appendToStream, DuplicateEventId, WrongExpectedVersion, type NewEvent } from '@tandem/event-store';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { driverError } from '../database/sql';
import { CommandRefused } from './commandRefused';
import type { CommandHandler, Decision } from './commandHandler';
import { GuardReader } from './guards';
import { commandHandlers } from './handlers';

export interface CommandInput {
  type: string;
  payload: unknown;
  /** Makes a retry idempotent: the same id returns the first attempt's result. Generated when absent. */
  commandId?: string;
  correlationId?: string;
  schemaVersion?: number;
  /** The aggregate's stream version the caller based its request on; a different current version → CONFLICT. */
  expectedVersion?: number;
}

/** A UUID (v5 layout) from a namespace and parts: the same inputs always give the same id. */
export function derivedId(namespace: string, ...parts: string[]): string {
  const h = createHash('sha256').update(`${namespace}:${parts.join(':')}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Event ids derive from the command id, so a retried command finds its own events instead of writing twice. */
export const eventIdFor = (commandId: string, index: number): string => derivedId('tandem-command', commandId, String(index));

export class CommandBus {
  private readonly handlers = new Map<string, CommandHandler>(commandHandlers.map((h) => [h.type, h as unknown as CommandHandler]));

  constructor(private readonly db: OrchestratorDatabase) {}

  async execute(command: CommandInput, actor: string): Promise<CommandReply> {
    const commandId = command.commandId ?? randomUUID();
    try {
      if (!/^(user|node|system):[^\s]{1,128}$/.test(actor)) throw new CommandRefused('BAD_USER_INPUT', `actor ${JSON.stringify(actor)} must look like user:<name>, node:<id> or system:<component>`);
      if (!tandemContracts.isCommandType(command.type)) throw new CommandRefused('BAD_USER_INPUT', `unknown command type ${JSON.stringify(command.type)}`);
      const type = command.type as TandemCommandType;
      const payload = tandemContracts.parseCommand(type, command.payload, command.schemaVersion);
      const previous = command.commandId ? await this.previousOutcome(commandId) : undefined;
      if (previous) return previous;
      const handler = this.handlers.get(type);
      if (!handler) throw new CommandRefused('INTERNAL', `no handler for ${type}`);
      const decision = await handler.decide(payload as never, { guards: GuardReader.of(this.db), store: this.db.store });
      if (decision.kind === 'unchanged') return { ok: true, commandId, aggregateId: decision.aggregateId };
      if (command.expectedVersion !== undefined) decision.expectedVersion = command.expectedVersion === 0 ? 'no-stream' : command.expectedVersion;
      return await this.commit(decision, commandId, command.correlationId ?? commandId, actor);
    } catch (error) {
      return refusal(commandId, error);
    }
  }

  /** Throws for a refusal instead of replying (for in-process callers that prefer exceptions). */
  async executeOrThrow(command: CommandInput, actor: string): Promise<Extract<CommandReply, { ok: true }>> {
    const reply = await this.execute(command, actor);
    if (!reply.ok) throw new CommandRefused(reply.error.code, reply.error.message, reply.error.problems);
    return reply;
  }

  private async commit(decision: Extract<Decision, { kind: 'append' }>, commandId: string, correlationId: string, actor: string): Promise<CommandReply> {
    const events: NewEvent[] = decision.events.map((event, index) => ({
      id: eventIdFor(commandId, index),
      type: event.type,
      schemaVersion: tandemContracts.currentSchemaVersion(event.type),
      data: event.data,
      metadata: { correlationId, causationId: commandId, actor },
    }));
    const runner = this.db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      try {
        // The append is the transaction's first write (the event store requires it); guard updates follow.
        const appended = await appendToStream(this.db.store, decision.streamId, events, { expectedVersion: decision.expectedVersion, runner });
        await decision.enforce({
          guards: GuardReader.of(this.db, runner),
          streamVersion: appended.nextExpectedVersion,
          query: (sql, params) => runner.query(sql, params),
          table: this.db.table,
        });
        await runner.commitTransaction();
        return { ok: true, commandId, aggregateId: decision.aggregateId, streamVersion: appended.nextExpectedVersion, globalPosition: appended.lastGlobalPosition };
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        // A concurrent retry of this very command committed first: answer with its result.
        if (driverError(error).code === 'TS003' || (driverError(error).code === '23505' && driverError(error).constraint === 'events_event_id_key')) {
          const previous = await this.previousOutcome(commandId);
          if (previous) return previous;
        }
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  /** The reply of an earlier, committed attempt of this command id, if any. */
  private async previousOutcome(commandId: string): Promise<CommandReply | undefined> {
    const rows: { stream_id: string; stream_version: string; global_position: string }[] = await this.db.dataSource.query(
      `SELECT stream_id, stream_version, global_position FROM ${this.db.store.table('events')} WHERE metadata->>'causationId' = $1 AND event_id = ANY($2::uuid[]) ORDER BY global_position DESC LIMIT 1`,
      [commandId, [0, 1, 2, 3].map((i) => eventIdFor(commandId, i))],
    );
    if (rows.length === 0) return undefined;
    const aggregateId = rows[0].stream_id.slice(rows[0].stream_id.indexOf('-') + 1);
    return { ok: true, commandId, aggregateId, streamVersion: Number(rows[0].stream_version), globalPosition: Number(rows[0].global_position) };
  }
}

/** Maps anything a command can fail with to the reply's error codes. */
export function refusal(commandId: string | undefined, error: unknown): CommandReply {
  const reply = (code: Extract<CommandReply, { ok: false }>['error']['code'], message: string, problems?: readonly { path: string; message: string }[]): CommandReply => ({
    ok: false,
    ...(commandId ? { commandId } : {}),
    error: { code, message, ...(problems && problems.length > 0 ? { problems: [...problems] } : {}) },
  });
  if (error instanceof CommandRefused) return reply(error.code, error.message, error.problems);
  if (error instanceof ContractViolation) return reply('BAD_USER_INPUT', error.message, error.problems);
  if (error instanceof WrongExpectedVersion) {
    return reply(
      'CONFLICT',
      error.expected === 'no-stream' ? `${error.streamId} already exists` : `${error.streamId} was changed concurrently (expected version ${error.expected}, now ${error.actual}); reload and retry`,
    );
  }
  if (error instanceof DuplicateEventId) return reply('CONFLICT', error.message);
  const { code, constraint } = driverError(error);
  const message = error instanceof Error ? error.message : String(error);
  const deleting = message.startsWith('update or delete');
  const constraintReplies: Record<string, () => CommandReply> = {
    guard_sites_pkey: () => reply('CONFLICT', 'the site already exists'),
    guard_sites_name_key: () => reply('CONFLICT', 'a site with this name already exists'),
    guard_clusters_pkey: () => reply('CONFLICT', 'the cluster already exists'),
    guard_clusters_name_key: () => reply('CONFLICT', 'a cluster with this name already exists in the site'),
    guard_nodes_name_key: () => reply('CONFLICT', 'a node with this name is already registered'),
    guard_devices_pkey: () => reply('CONFLICT', 'the device already exists'),
    guard_devices_name_key: () => reply('CONFLICT', 'a device with this name already exists in the cluster'),
    guard_clusters_site_fk: () => (deleting ? reply('CONFLICT', 'the site still has clusters; delete them first') : reply('NOT_FOUND', 'the site no longer exists')),
    guard_nodes_cluster_fk: () => (deleting ? reply('CONFLICT', 'the cluster still has nodes; remove them first') : reply('NOT_FOUND', 'the cluster no longer exists')),
    guard_devices_cluster_fk: () => (deleting ? reply('CONFLICT', 'the cluster still has devices; delete them first') : reply('NOT_FOUND', 'the cluster no longer exists')),
    guard_replicas_node_fk: () => reply('NOT_FOUND', 'a replica node no longer exists'),
  };
  if ((code === '23505' || code === '23503') && constraint && constraintReplies[constraint]) return constraintReplies[constraint]();
  if (code === '23505' || code === '23503') return reply('CONFLICT', message);
  if (code === '40P01' || code === '40001') return reply('CONFLICT', `a concurrent command got in the way (${message}); retry`);
  return reply('INTERNAL', message);
}
