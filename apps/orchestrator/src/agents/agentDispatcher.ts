/**
 * Orchestrator → node agents: a catch-up subscription of its own (own checkpoint) over the device events, sending
 * each replica's node the matching agent command (create / resize / delete) by NATS request/reply. The command id
 * derives from the event id and the node, so a redelivery after a crash is the same command and the agent answers it
 * from its memory instead of acting twice.
 *
 * A node that is not connected (no responders) or does not answer in time is not waited for: it asks for its
 * desired device set when it (re)connects and converges then. A node that answers with a refusal gets a
 * `ReplicaCommandFailed` event in its stream, so the administrator sees why the device is not exported there.
 */
import {
  agentCommandReplySchema,
  agentCommandSubject,
  agentStreamId,
  type AgentCommand,
  type AgentCommandReply,
  type TandemEventData,
} from '@tandem/contracts';
import { appendToStream, readStream, subscribe, type RecordedEvent, type Subscription } from '@tandem/event-store';
import { ErrorCode, type NatsConnection, type NatsError } from 'nats';
import { derivedId } from '../commands/commandBus';
import { agentDeviceFor } from './agentDevice';
import { prefixed } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';

export const AGENT_DISPATCH_SUBSCRIPTION = 'orchestrator-agent-dispatch';
const DEVICE_EVENTS = ['DeviceCreated', 'DeviceResized', 'DeviceDeleted', 'SplitBrainResolutionRequested'] as const;
type ReplicaVerb = 'create-device' | 'resize-device' | 'delete-device' | 'resolve-split-brain';

export interface AgentDispatcherOptions {
  subjectPrefix: string;
  /** How long one node gets to answer one command. Default 5 s. */
  requestTimeoutMs?: number;
  /** Subscription name, so several dispatchers (tests) can share a database. */
  name?: string;
  pollIntervalMs?: number;
  retryDelayMs?: number;
  log?: (level: 'log' | 'warn' | 'error', message: string) => void;
}

export const agentCommandIdFor = (eventId: string, nodeId: string): string => derivedId('tandem-agent-command', eventId, nodeId);

export interface DispatchOutcome {
  nodeId: string;
  verb: ReplicaVerb;
  /** `unreachable`: nobody answered; the node converges when it reconnects. */
  result: 'done' | 'refused' | 'unreachable';
}

export class AgentDispatcher {
  private subscription?: Subscription;
  private stopped = true;
  private restartTimer?: NodeJS.Timeout;
  /** Outcomes since start (for logs, metrics and tests). */
  readonly counts = { done: 0, refused: 0, unreachable: 0 };

  constructor(
    private readonly db: OrchestratorDatabase,
    private readonly nc: NatsConnection,
    private readonly options: AgentDispatcherOptions,
  ) {}

  get name(): string {
    return this.options.name ?? AGENT_DISPATCH_SUBSCRIPTION;
  }

  start(): void {
    this.stopped = false;
    this.run();
  }

  async caughtUp(): Promise<void> {
    await this.subscription?.caughtUp;
  }

  get position(): number {
    return this.subscription?.position ?? 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.subscription?.stop();
  }

  private log(level: 'log' | 'warn' | 'error', message: string): void {
    (this.options.log ?? ((l, m) => (l === 'error' ? console.error(m) : l === 'warn' ? console.warn(m) : undefined)))(level, `agent dispatch: ${message}`);
  }

  private run(): void {
    this.subscription = subscribe(this.db.store, {
      name: this.name,
      types: DEVICE_EVENTS,
      batchSize: 100,
      pollIntervalMs: this.options.pollIntervalMs ?? 50,
      handler: (event) => this.dispatch(event).then(() => undefined),
      onError: (error) => {
        if (this.stopped) return;
        this.log('error', `${error instanceof Error ? error.message : String(error)}; retrying`);
        this.restartTimer = setTimeout(() => !this.stopped && this.run(), this.options.retryDelayMs ?? 1000);
      },
    });
  }

  /** Sends the commands one device event calls for, to every replica's node at once. */
  async dispatch(event: RecordedEvent): Promise<DispatchOutcome[]> {
    const history = await readStream(this.db.store, event.streamId, { maxCount: 10_000 });
    const created = history.events.find((e) => e.type === 'DeviceCreated')?.data as TandemEventData<'DeviceCreated'> | undefined;
    if (!created) return [];
    // A later delete supersedes creating or growing it: a dispatcher catching up after downtime does not
    // bring back a device only to withdraw it again.
    const deletedLater = history.events.some((e) => e.type === 'DeviceDeleted' && e.streamVersion > event.streamVersion);
    if (event.type !== 'DeviceDeleted' && deletedLater) return [];
    const sizeNow = [...history.events].reverse().find((e) => e.streamVersion <= event.streamVersion && (e.type === 'DeviceResized' || e.type === 'DeviceCreated'));
    const sizeBytes = (sizeNow?.data as { sizeBytes: number } | undefined)?.sizeBytes ?? created.sizeBytes;
    const correlationId = typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : undefined;
    return Promise.all(
      created.replicas.map(({ nodeId }) => {
        const commandId = agentCommandIdFor(event.id, nodeId);
        const base = { commandId, ...(correlationId ? { correlationId } : {}) };
        switch (event.type) {
          case 'DeviceCreated':
            return this.send(event, nodeId, 'create-device', { ...base, device: agentDeviceFor(created, sizeBytes, nodeId) });
          case 'DeviceResized':
            return this.send(event, nodeId, 'resize-device', { ...base, deviceId: created.deviceId, sizeBytes });
          case 'SplitBrainResolutionRequested': {
            const { survivorNodeId } = event.data as TandemEventData<'SplitBrainResolutionRequested'>;
            return this.send(event, nodeId, 'resolve-split-brain', { ...base, deviceId: created.deviceId, survivorNodeId });
          }
          default:
            return this.send(event, nodeId, 'delete-device', { ...base, deviceId: created.deviceId, destroyData: false });
        }
      }),
    );
  }

  private async send(event: RecordedEvent, nodeId: string, verb: ReplicaVerb, command: AgentCommand): Promise<DispatchOutcome> {
    const deviceId = (event.data as { deviceId: string }).deviceId;
    let reply: AgentCommandReply;
    try {
      const msg = await this.nc.request(prefixed(this.options.subjectPrefix, agentCommandSubject(nodeId, verb)), JSON.stringify(command), {
        timeout: this.options.requestTimeoutMs ?? 5000,
      });
      reply = agentCommandReplySchema.parse(JSON.parse(new TextDecoder().decode(msg.data)));
    } catch (error) {
      const code = (error as NatsError).code;
      if (code === ErrorCode.NoResponders || code === ErrorCode.Timeout) {
        this.counts.unreachable++;
        this.log('log', `node ${nodeId} did not take ${verb} ${deviceId} (${code === ErrorCode.NoResponders ? 'not connected' : 'no answer'}); it converges when it reconnects`);
        return { nodeId, verb, result: 'unreachable' };
      }
      if (code !== undefined) throw error; // NATS itself is in trouble: the subscription retries this event
      // A reply we cannot read is a refusal we can explain.
      reply = { ok: false, nodeId, error: { code: 'INTERNAL', message: `unreadable reply from the node: ${(error as Error).message}` } };
    }
    if (reply.ok) {
      this.counts.done++;
      return { nodeId, verb, result: 'done' };
    }
    this.counts.refused++;
    this.log('warn', `node ${nodeId} refused ${verb} ${deviceId}: ${reply.error.code}: ${reply.error.message}`);
    await appendToStream(this.db.store, agentStreamId(nodeId), [
      {
        id: derivedId('tandem-agent-refusal', command.commandId),
        type: 'ReplicaCommandFailed',
        schemaVersion: 1,
        data: { deviceId, nodeId, verb, code: reply.error.code, message: reply.error.message.slice(0, 2048) },
        metadata: { correlationId: command.correlationId ?? command.commandId, causationId: event.id, actor: 'system:orchestrator' },
      },
    ]);
    return { nodeId, verb, result: 'refused' };
  }
}
