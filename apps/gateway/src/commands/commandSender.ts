/**
 * Sends commands to the orchestrator over NATS request/reply, in the contracts' envelope, so the orchestrator
 * stays the only writer. Input is checked against the same zod schemas first: a bad payload never leaves.
 */
import { randomUUID } from 'crypto';
import {
  commandReplySchema,
  parseCommand,
  tandemContracts,
  type CommandMessage,
  type CommandReply,
  type TandemCommandType,
} from '@tandem/contracts';
import { prefixed } from '@tandem/orchestrator';
import { ErrorCode as NatsErrorCode, type NatsConnection, type NatsError } from 'nats';
import { badInput, gatewayError } from '../errors';

export type CommandAccepted = Extract<CommandReply, { ok: true }>;

export class CommandSender {
  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { subjectPrefix: string; timeoutMs: number },
  ) {}

  /** Resolves with the orchestrator's acceptance; throws a GraphQL error carrying the reply's code otherwise. */
  async send(type: TandemCommandType, payload: unknown, actor: string): Promise<CommandAccepted> {
    const contract = tandemContracts.commandContract(type);
    try {
      parseCommand(type, payload);
    } catch (error) {
      throw badInput(error);
    }
    const commandId = randomUUID();
    const message: CommandMessage = { commandId, type, schemaVersion: contract.schemaVersion, payload, metadata: { correlationId: commandId, actor } };
    const subject = prefixed(this.options.subjectPrefix, contract.subject);
    let data: Uint8Array;
    try {
      const response = await this.nc.request(subject, JSON.stringify(message), { timeout: this.options.timeoutMs });
      data = response.data;
    } catch (error) {
      const code = (error as NatsError).code;
      if (code === NatsErrorCode.NoResponders) throw gatewayError('INTERNAL', `no orchestrator is listening on ${subject}; nothing was written`);
      if (code === NatsErrorCode.Timeout) {
        throw gatewayError('INTERNAL', `the orchestrator did not answer within ${this.options.timeoutMs} ms; the command (id ${commandId}) may or may not have been applied`);
      }
      throw gatewayError('INTERNAL', `NATS request failed: ${(error as Error).message}`);
    }
    let reply: CommandReply;
    try {
      reply = commandReplySchema.parse(JSON.parse(new TextDecoder().decode(data)));
    } catch (error) {
      throw gatewayError('INTERNAL', `the orchestrator sent a malformed reply (${(error as Error).message})`);
    }
    if (!reply.ok) throw gatewayError(reply.error.code, reply.error.message, reply.error.problems);
    return reply;
  }
}
