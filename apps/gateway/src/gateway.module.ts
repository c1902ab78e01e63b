/**
 * The gateway as a Nest module: the orchestrator's database (read only: read models and the log), a NATS
 * connection (commands out, events in), and Apollo with graphql-ws on one HTTP server.
 */
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { TerminusModule } from '@nestjs/terminus';
import { openDatabaseFromSettings, ReadinessIndicators, type OrchestratorDatabase, type OrchestratorObservability } from '@tandem/orchestrator';
import type { GraphQLSchema } from 'graphql';
import { connect, type NatsConnection } from 'nats';
import { isAuthorized } from './auth/bearerToken';
import { CommandSender } from './commands/commandSender';
import { GATEWAY_SETTINGS, type GatewaySettings } from './config';
import { TOKEN_ACTOR, type GatewayContext } from './context';
import { EventFeed } from './events/eventFeed';
import { FleetReader } from './fleet/fleetReader';
import { operationGuardPlugin } from './limits/operationGuard.plugin';
import { depthLimitRule } from './limits/queryLimits';
import { connectionAuthorization, subscriptionGuard } from './limits/subscriptionGuard';
import { CONSOLE_FILES, ConsoleController } from './console/console.controller';
import { ConsoleFiles, consoleDistDir } from './console/consoleFiles';
import { GATEWAY_OBSERVABILITY, GatewayObservability, HealthController, MetricsController } from './health/health.controller';
import { graphqlMetricsPlugin } from './metrics/graphqlMetrics.plugin';
import { GATEWAY_RESOLVERS } from './schema/resolvers';

export const GATEWAY_DATABASE = Symbol('GATEWAY_DATABASE');
export const GATEWAY_NATS = Symbol('GATEWAY_NATS');

@Injectable()
class GatewayConnections implements OnApplicationShutdown {
  constructor(
    @Inject(GATEWAY_DATABASE) private readonly db: OrchestratorDatabase,
    @Inject(GATEWAY_NATS) private readonly nc: NatsConnection,
    @Inject(GATEWAY_SETTINGS) private readonly owned: { ownsDatabase: boolean },
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.nc.close().catch(() => undefined);
    if (this.owned.ownsDatabase) await this.db.close();
  }
}

export interface GatewayModuleOptions {
  /** Share an open database (e.g. the orchestrator's, when both run in one process on the embedded PGlite). */
  database?: OrchestratorDatabase;
  /** The orchestrator in this process, if any: its series and readiness join the gateway's /metrics and /health/ready. */
  orchestrator?: OrchestratorObservability;
}

@Global()
@Module({})
class GatewayInfrastructureModule {
  static forRoot(settings: GatewaySettings, options: GatewayModuleOptions): DynamicModule {
    return {
      module: GatewayInfrastructureModule,
      providers: [
        { provide: GATEWAY_SETTINGS, useValue: { ...settings, ownsDatabase: options.database === undefined } },
        { provide: GATEWAY_DATABASE, useFactory: () => options.database ?? openDatabaseFromSettings(settings) },
        { provide: GATEWAY_NATS, useFactory: () => connect({ servers: settings.natsUrl, name: 'tandem-gateway', timeout: 3000, maxReconnectAttempts: -1, reconnectTimeWait: 500 }) },
        { provide: FleetReader, useFactory: (db: OrchestratorDatabase) => new FleetReader(db), inject: [GATEWAY_DATABASE] },
        {
          provide: CommandSender,
          useFactory: (nc: NatsConnection) => new CommandSender(nc, { subjectPrefix: settings.subjectPrefix, timeoutMs: settings.commandTimeoutMs }),
          inject: [GATEWAY_NATS],
        },
        { provide: EventFeed, useFactory: (nc: NatsConnection) => new EventFeed(nc, { stream: settings.eventsStream, subjectPrefix: settings.subjectPrefix }), inject: [GATEWAY_NATS] },
        GatewayConnections,
        {
          provide: GATEWAY_OBSERVABILITY,
          useFactory: (db: OrchestratorDatabase, nc: NatsConnection) => new GatewayObservability(db, nc, options.orchestrator ?? null),
          inject: [GATEWAY_DATABASE, GATEWAY_NATS],
        },
      ],
      exports: [GATEWAY_SETTINGS, FleetReader, CommandSender, EventFeed, GATEWAY_OBSERVABILITY],
    };
  }
}

function apolloOptions(settings: GatewaySettings, fleet: FleetReader, observability: GatewayObservability): ApolloDriverConfig {
  let schema: GraphQLSchema | undefined;
  const guard = subscriptionGuard({ ...settings, schema: () => schema });
  const contextFor = (header: string | undefined, long: boolean): GatewayContext => ({
    authenticated: isAuthorized(header, settings.apiToken),
    actor: TOKEN_ACTOR,
    loaders: fleet.loaders({ cache: !long }),
  });
  return {
    autoSchemaFile: true,
    sortSchema: true,
    path: settings.path,
    playground: false,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    validationRules: [depthLimitRule(settings.maxDepth)],
    plugins: [
      {
        async serverWillStart(service) {
          schema = service.schema;
        },
      },
      operationGuardPlugin(settings),
      graphqlMetricsPlugin(observability.registry),
    ],
    subscriptions: {
      'graphql-ws': {
        path: settings.path,
        onConnect: (ctx) => guard.onConnect(ctx),
        onSubscribe: (ctx, id, payload) => guard.onSubscribe(ctx, id, payload),
      },
    },
    context: (arg: { req?: { headers: Record<string, string | string[] | undefined> }; connectionParams?: Readonly<Record<string, unknown>>; extra?: unknown }) => {
      // graphql-ws calls this once per operation with its own context; HTTP with { req, res }.
      if (arg.extra !== undefined) return contextFor(connectionAuthorization(arg.connectionParams), true);
      const header = arg.req?.headers.authorization;
      return contextFor(Array.isArray(header) ? header[0] : header, false);
    },
  };
}

@Module({})
export class GatewayModule {
  static forRoot(settings: GatewaySettings, options: GatewayModuleOptions = {}): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        GatewayInfrastructureModule.forRoot(settings, options),
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          inject: [FleetReader, GATEWAY_OBSERVABILITY],
          useFactory: (fleet: FleetReader, observability: GatewayObservability) => apolloOptions(settings, fleet, observability),
        }),
        // A failed probe's 503 body names the failing check; terminus's own log line per failed probe would only repeat it.
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController, MetricsController, ConsoleController],
      providers: [ReadinessIndicators, { provide: CONSOLE_FILES, useFactory: () => new ConsoleFiles(consoleDistDir()) }, ...GATEWAY_RESOLVERS],
    };
  }
}
