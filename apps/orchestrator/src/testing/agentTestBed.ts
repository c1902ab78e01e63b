/**
 * What the agent-protocol specs share: a database, a command bus, a live projector and a NATS connection with a
 * subject prefix and reports stream of their own (removed after the file), plus a bounded `until`.
 */
import { connect, type NatsConnection } from 'nats';
import { CommandBus } from '../commands/commandBus';
import { prefixed } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { ReadModelProjector } from '../projections/readModelProjector';
import type { TestInfrastructure } from './infrastructure';

export const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data));

export async function until<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface AgentTestBed {
  readonly db: OrchestratorDatabase;
  readonly bus: CommandBus;
  readonly nc: NatsConnection;
  readonly projector: ReadModelProjector;
  readonly prefix: string;
  readonly reportsStream: string;
  /** The subject with this run's prefix. */
  at(subject: string): string;
  /** Executes a command as the administrator; throws when it is refused. */
  ok(type: string, payload: unknown): Promise<Extract<Awaited<ReturnType<CommandBus['execute']>>, { ok: true }>>;
}

/** Call inside a describeWithInfrastructure body; the fields are set once its beforeAll ran. */
export function agentTestBed(infra: TestInfrastructure, letter: string): AgentTestBed {
  const prefix = `${letter}${infra.runTag}`;
  const bed = {
    prefix,
    reportsStream: `TANDEM_AGENT_REPORTS_${letter}${infra.runTag}`.toUpperCase(),
    at: (subject: string) => prefixed(prefix, subject),
    async ok(type: string, payload: unknown) {
      const reply = await bed.bus.execute({ type, payload }, 'user:admin');
      if (!reply.ok) throw new Error(`${type} refused: ${reply.error.code} ${reply.error.message}`);
      return reply;
    },
  } as AgentTestBed & { db: OrchestratorDatabase; bus: CommandBus; nc: NatsConnection; projector: ReadModelProjector };
  beforeAll(async () => {
    const mutable = bed as { -readonly [K in keyof AgentTestBed]: AgentTestBed[K] };
    mutable.db = await infra.openDatabase();
    mutable.bus = new CommandBus(bed.db);
    mutable.nc = await connect({ servers: infra.natsUrl, timeout: 3000 });
    mutable.projector = new ReadModelProjector(bed.db, { pollIntervalMs: 20 });
    bed.projector.start();
    infra.beforeClose(async () => {
      await bed.projector.stop();
      await (await bed.nc.jetstreamManager()).streams.delete(bed.reportsStream).catch(() => undefined);
      await bed.nc.close();
    });
  });
  return bed;
}
