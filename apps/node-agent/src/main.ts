/** Node agent: hosts this node's iSCSI targets from a config file, under NestJS for lifecycle and config. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NodeAgentModule } from './app.module';
import { unknownTandemVariablesWarning } from '@tandem/contracts';
import { settingsFromArgv } from './config';
import { AgentRegistrationService } from './registration/agentRegistration.service';

export async function bootstrap(argv = process.argv, env = process.env): Promise<void> {
  const settings = settingsFromArgv(argv, env);
  const warning = unknownTandemVariablesWarning('node-agent', env);
  if (warning) process.stderr.write(`${warning}\n`);
  const app = await NestFactory.createApplicationContext(NodeAgentModule.forRoot(settings), { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.init();
  // A node whose portals or links are bound to a wildcard with no dialable address to register does not run.
  try {
    app.get(AgentRegistrationService).advertised();
  } catch (error) {
    await app.close();
    throw error;
  }
}

if (require.main === module) {
  bootstrap().catch((err) => {
    process.stderr.write(`node-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
