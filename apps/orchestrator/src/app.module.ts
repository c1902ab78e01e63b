/**
 * The orchestrator as a Nest module: the database (Postgres or embedded PGlite), NATS, the command bus with its
 * NATS listener, the read-model projector and the JetStream outbox, started and stopped in that order.
 */
import { Inject, Injectable, Logger, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { connect, type NatsConnection } from 'nats';
import { CommandBus } from './commands/commandBus';
import { ORCHESTRATOR_SETTINGS, type OrchestratorSettings } from './config';
import { openDatabaseFromSettings } from './database/openFromSettings';
import type { OrchestratorDatabase } from './database/orchestratorDatabase';
import { AgentDispatcher } from './agents/agentDispatcher';
import { AgentReportsConsumer } from './agents/agentReportsConsumer';
import { DesiredDevicesResponder } from './agents/desiredDevicesResponder';
import { CommandListener } from './nats/commandListener';
import { JetStreamOutbox } from './outbox/jetStreamOutbox';
import { ReadModelProjector } from './projections/readModelProjector';
import { ReadModels } from './readModels.service';
import { OrchestratorHttpServer, OrchestratorObservability } from './health/orchestratorHttp';
import { ReadinessIndicators } from './health/readinessChecks';
import { AlertEvaluator } from './alerts/alertEvaluator';
import { LivenessMonitor } from './liveness/livenessMonitor';

export const ORCHESTRATOR_DATABASE = Symbol('ORCHESTRATOR_DATABASE');
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

/** The orchestrator's side of the node-agent protocol: commands out, desired devices on request, reports in. */
export class AgentProtocol {
  readonly dispatcher: AgentDispatcher;
  readonly responder: DesiredDevicesResponder;
  readonly reports: AgentReportsConsumer;
  /** Liveness and alerts (null when `runHealth` is off). */
  readonly liveness: LivenessMonitor | null;
  readonly alerts: AlertEvaluator | null;

  constructor(db: OrchestratorDatabase, nc: NatsConnection, projector: ReadModelProjector, settings: OrchestratorSettings) {
    const log = (level: 'log' | 'warn' | 'error', message: string) => new Logger('Agents')[level](message);
    this.dispatcher = new AgentDispatcher(db, nc, { subjectPrefix: settings.subjectPrefix, requestTimeoutMs: settings.agentRequestTimeoutMs, log });
    this.responder = new DesiredDevicesResponder(db, nc, projector, settings.subjectPrefix);
    this.reports = new AgentReportsConsumer(db, nc, { stream: settings.reportsStream, subjectPrefix: settings.subjectPrefix, log });
    const healthLog = (level: 'log' | 'warn' | 'error', message: string) => new Logger('Health')[level](message);
    this.liveness = settings.runHealth ? new LivenessMonitor(db, nc, { subjectPrefix: settings.subjectPrefix, lostAfterMs: settings.nodeLostAfterMs, log: healthLog }) : null;
    this.alerts = this.liveness ? new AlertEvaluator(db, this.liveness, { log: healthLog }) : null;
  }

  async start(): Promise<void> {
    this.responder.start();
    await this.reports.start();
    this.dispatcher.start();
    this.liveness?.start();
    this.alerts?.start();
  }

  async stop(): Promise<void> {
    await this.alerts?.stop();
    await this.liveness?.stop();
    await this.dispatcher.stop();
    await this.reports.stop();
    await this.responder.stop();
  }
}

@Injectable()
class OrchestratorLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Orchestrator');

  constructor(
    @Inject(ORCHESTRATOR_SETTINGS) private readonly settings: OrchestratorSettings,
    @Inject(ORCHESTRATOR_DATABASE) private readonly db: OrchestratorDatabase,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection | null,
    @Inject(ReadModelProjector) private readonly projector: ReadModelProjector,
    @Inject(JetStreamOutbox) private readonly outbox: JetStreamOutbox | null,
    @Inject(CommandListener) private readonly listener: CommandListener | null,
    @Inject(AgentProtocol) private readonly agents: AgentProtocol | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.settings.runProjector) this.projector.start();
    if (this.outbox) await this.outbox.start();
    this.listener?.start();
    await this.agents?.start();
    this.logger.log(`ready: schema ${this.db.schema}, ${this.settings.databaseUrl ? 'Postgres' : `embedded PGlite in ${this.settings.dataDir}`}, NATS ${this.nc ? this.settings.natsUrl : 'off'}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.agents?.stop();
    await this.listener?.stop();
    await this.outbox?.stop();
    await this.projector.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nc?.drain().catch(() => undefined);
    await this.db.close();
  }
}

@Module({})
export class OrchestratorModule {
  static forRoot(settings: OrchestratorSettings): DynamicModule {
    const needsNats = settings.listenForCommands || settings.runOutbox || settings.runAgentProtocol;
    return {
      module: OrchestratorModule,
      // A failed probe's 503 body names the failing check; terminus's own log line per failed probe would only repeat it.
      imports: [TerminusModule.forRoot({ logger: false })],
      providers: [
        { provide: ORCHESTRATOR_SETTINGS, useValue: settings },
        { provide: ORCHESTRATOR_DATABASE, useFactory: () => openDatabaseFromSettings(settings) },
        {
          provide: NATS_CONNECTION,
          useFactory: () =>
            needsNats ? connect({ servers: settings.natsUrl, name: 'tandem-orchestrator', timeout: 3000, maxReconnectAttempts: -1, reconnectTimeWait: 500 }) : null,
        },
        { provide: CommandBus, useFactory: (db: OrchestratorDatabase) => new CommandBus(db), inject: [ORCHESTRATOR_DATABASE] },
        { provide: ReadModelProjector, useFactory: (db: OrchestratorDatabase) => new ReadModelProjector(db), inject: [ORCHESTRATOR_DATABASE] },
        { provide: ReadModels, useFactory: (db: OrchestratorDatabase, p: ReadModelProjector) => new ReadModels(db, p), inject: [ORCHESTRATOR_DATABASE, ReadModelProjector] },
        {
          provide: JetStreamOutbox,
          useFactory: (db: OrchestratorDatabase, nc: NatsConnection | null) =>
            settings.runOutbox && nc
              ? new JetStreamOutbox(db, nc, { stream: settings.eventsStream, subjectPrefix: settings.subjectPrefix, duplicateWindowMs: settings.duplicateWindowMs })
              : null,
          inject: [ORCHESTRATOR_DATABASE, NATS_CONNECTION],
        },
        {
          provide: CommandListener,
          useFactory: (nc: NatsConnection | null, bus: CommandBus) => (settings.listenForCommands && nc ? new CommandListener(nc, bus, settings.subjectPrefix) : null),
          inject: [NATS_CONNECTION, CommandBus],
        },
        {
          provide: AgentProtocol,
          useFactory: (db: OrchestratorDatabase, nc: NatsConnection | null, projector: ReadModelProjector) =>
            settings.runAgentProtocol && nc ? new AgentProtocol(db, nc, projector, settings) : null,
          inject: [ORCHESTRATOR_DATABASE, NATS_CONNECTION, ReadModelProjector],
        },
        OrchestratorLifecycle,
        {
          provide: OrchestratorObservability,
          useFactory: (db: OrchestratorDatabase, nc: NatsConnection | null) => new OrchestratorObservability(db, nc, settings),
          inject: [ORCHESTRATOR_DATABASE, NATS_CONNECTION],
        },
        ReadinessIndicators,
        OrchestratorHttpServer,
      ],
      exports: [CommandBus, ReadModels, ORCHESTRATOR_DATABASE, AgentProtocol, OrchestratorObservability, OrchestratorHttpServer],
    };
  }
}
