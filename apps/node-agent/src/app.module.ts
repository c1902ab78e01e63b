import { DynamicModule, Module } from '@nestjs/common';
import pino from 'pino';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from './config';
import { HealthService } from './health/health.service';
import { TargetHostService } from './target/targetHost.service';

@Module({})
export class NodeAgentModule {
  static forRoot(settings: NodeAgentSettings): DynamicModule {
    return {
      module: NodeAgentModule,
      providers: [
        { provide: NODE_AGENT_SETTINGS, useValue: settings },
        { provide: 'DATA_PLANE_LOGGER', useValue: pino({ name: 'node-agent', level: process.env.TANDEM_LOG_LEVEL ?? 'info' }) },
        TargetHostService,
        HealthService,
      ],
    };
  }
}
