/**
 * The agent's NATS connection, made in the background: the node serves its LUNs whether or not NATS is there.
 * Keeps trying until the first connection, then lets the client reconnect forever; tells listeners each time
 * the connection is (re)established so they can flush, register and reconcile.
 */
import { EventEmitter } from 'events';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { connect, Events, type NatsConnection } from 'nats';
import { NODE_AGENT_SETTINGS, NodeAgentSettings, prefixed } from '../config';

const FIRST_CONNECT_BACKOFF_MS = [250, 500, 1000, 2000, 5000];

@Injectable()
export class NatsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private nc: NatsConnection | null = null;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly events = new EventEmitter();
  private readonly log = new Logger('Nats');
  connectedNow = false;

  constructor(@Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings) {}

  /** The connection once made (it may be reconnecting right now); null before the first connection. */
  get connection(): NatsConnection | null {
    return this.nc;
  }

  subject(subject: string): string {
    return prefixed(this.settings.subjectPrefix, subject);
  }

  /** Called on the first connection and after every reconnect. */
  onConnected(listener: (nc: NatsConnection) => void): void {
    this.events.on('connected', listener);
    if (this.nc && this.connectedNow) listener(this.nc);
  }

  onApplicationBootstrap(): void {
    if (this.settings.natsUrl) void this.tryConnect(0);
  }

  private async tryConnect(attempt: number): Promise<void> {
    this.retryTimer = null;
    if (this.stopping) return;
    try {
      const nc = await connect({ servers: this.settings.natsUrl!, name: 'tandem-node-agent', timeout: 2000, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
      if (this.stopping) {
        await nc.close();
        return;
      }
      this.nc = nc;
      this.connectedNow = true;
      this.log.log(`connected to ${nc.getServer()}`);
      void this.watch(nc);
      this.events.emit('connected', nc);
    } catch (err) {
      const delay = FIRST_CONNECT_BACKOFF_MS[Math.min(attempt, FIRST_CONNECT_BACKOFF_MS.length - 1)];
      if (attempt === 0) this.log.warn(`NATS ${this.settings.natsUrl} not reachable (${(err as Error).message}); serving locally, retrying`);
      this.retryTimer = setTimeout(() => void this.tryConnect(attempt + 1), delay);
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        this.connectedNow = false;
        this.log.warn('NATS disconnected; events stay in the local outbox');
      } else if (status.type === Events.Reconnect) {
        this.connectedNow = true;
        this.log.log('NATS reconnected');
        this.events.emit('connected', nc);
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.events.removeAllListeners();
    const nc = this.nc;
    this.nc = null;
    this.connectedNow = false;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
