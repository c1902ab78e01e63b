import { DynamicModule, Module } from '@nestjs/common';
import pino from 'pino';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from './config';
import { DeviceCommandsService } from './devices/deviceCommands.service';
import { HealthService } from './health/health.service';
import { NatsService } from './nats/nats.service';
import { OutboxService } from './outbox/outbox.service';
import { AgentRegistrationService } from './registration/agentRegistration.service';
import { NodeIdentityService } from './state/nodeIdentity.service';
import { TargetHostService } from './target/targetHost.service';
import { TelemetryService } from './telemetry/telemetry.service';

/** The NATS connection, alone so other modules can share it. */
@Module({})
export class NatsModule {
  static forRoot(settings: NodeAgentSettings): DynamicModule {
    return {
      module: NatsModule,
      global: true,
      providers: [{ provide: NODE_AGENT_SETTINGS, useValue: settings }, NatsService],
      exports: [NODE_AGENT_SETTINGS, NatsService],
    };
  }
}

@Module({})
export class NodeAgentModule {
  static forRoot(settings: NodeAgentSettings): DynamicModule {
    return {
      module: NodeAgentModule,
      imports: [NatsModule.forRoot(settings)],
      providers: [
        { provide: 'DATA_PLANE_LOGGER', useValue: pino({ name: 'node-agent', level: settings.logLevel ?? 'info' }) },
        { provide: NodeIdentityService, useFactory: NodeIdentityService.load, inject: [NODE_AGENT_SETTINGS] },
        TargetHostService,
        OutboxService,
        DeviceCommandsService,
        AgentRegistrationService,
        TelemetryService,
        HealthService,
      ],
    };
  }
}
