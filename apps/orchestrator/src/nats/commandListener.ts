/**
 * Commands over NATS request/reply: one queue-group subscription on `tandem.cmd.>` (several orchestrators share
 * the load), the message checked against the contracts' envelope, the subject against the command type, and
 * the bus's reply sent back in the contracts' reply shape. A malformed request gets BAD_USER_INPUT, never silence.
 */
import { commandMessageSchema, ContractViolation, tandemContracts, type CommandReply } from '@tandem/contracts';
import type { Msg, NatsConnection } from 'nats';
import { prefixed } from '../config';
import type { CommandBus } from '../commands/commandBus';
import { refusal } from '../commands/commandBus';
import { RequestServer } from './requestServer';


export class CommandListener {
  private readonly server: RequestServer;

  constructor(
    nc: NatsConnection,
    private readonly bus: CommandBus,
    private readonly subjectPrefix: string,
  ) {
    this.server = new RequestServer(nc, prefixed(subjectPrefix, 'tandem.cmd.>'), (msg) => this.replyTo(msg), (error) => refusal(undefined, error));
  }

  start(): void {
    this.server.start();
  }

  /** Stops taking requests and lets those in hand finish. */
  stop(): Promise<void> {
    return this.server.stop();
  }

  private async replyTo(msg: Msg): Promise<CommandReply> {
    const subject = this.subjectPrefix ? msg.subject.slice(this.subjectPrefix.length + 1) : msg.subject;
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(msg.data));
    } catch {
      return refusal(undefined, new ContractViolation(`subject ${subject}`, [{ path: '(root)', message: 'the request is not JSON' }]));
    }
    const parsed = commandMessageSchema.safeParse(body);
    if (!parsed.success) return refusal(undefined, ContractViolation.fromZodIssues(`subject ${subject}`, parsed.error.issues));
    const message = parsed.data;
    const contract = tandemContracts.commandForSubject(subject);
    if (!contract) return refusal(message.commandId, new ContractViolation(`subject ${subject}`, [{ path: '(subject)', message: 'no command is sent on this subject' }]));
    if (contract.type !== message.type) {
      return refusal(message.commandId, new ContractViolation(`subject ${subject}`, [{ path: 'type', message: `expected ${contract.type} on this subject, got ${message.type}` }]));
    }
    return this.bus.execute(
      {
        type: message.type,
        payload: message.payload,
        commandId: message.commandId,
        correlationId: message.metadata.correlationId,
        schemaVersion: message.schemaVersion,
        expectedVersion: message.expectedVersion,
      },
      message.metadata.actor,
    );
  }
}
