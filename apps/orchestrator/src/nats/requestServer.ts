/**
 * A NATS request/reply service in a queue group (several orchestrators share the load): every request gets a
 * JSON reply, even when the handler fails, and `stop` lets the requests in hand finish.
 */
import type { Msg, NatsConnection, Subscription } from 'nats';

export const ORCHESTRATOR_QUEUE_GROUP = 'tandem-orchestrator';

export class RequestServer {
  private subscription?: Subscription;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly reply: (msg: Msg) => Promise<unknown>,
    private readonly onFailure: (error: unknown) => unknown,
  ) {}

  start(): void {
    this.subscription = this.nc.subscribe(this.subject, {
      queue: ORCHESTRATOR_QUEUE_GROUP,
      callback: (error, msg) => {
        if (error) return;
        const work = this.answer(msg).finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      },
    });
  }

  /** Stops taking requests and lets those in hand finish. */
  async stop(): Promise<void> {
    if (this.subscription && !this.subscription.isClosed()) await this.subscription.drain().catch(() => undefined);
    await Promise.all([...this.inFlight]);
  }

  private async answer(msg: Msg): Promise<void> {
    const reply = await this.reply(msg).catch((error) => this.onFailure(error));
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }
}
