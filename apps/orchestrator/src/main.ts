/** Orchestrator: the only writer of the event log. `node dist/main.js` (DATABASE_URL, NATS_URL from the environment). */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { OrchestratorModule } from './app.module';
import { settingsFromEnv, type OrchestratorSettings } from './config';

export async function bootstrap(settings: OrchestratorSettings = settingsFromEnv()) {
  const app = await NestFactory.createApplicationContext(OrchestratorModule.forRoot(settings), { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.init();
  return app;
}

if (require.main === module) {
  bootstrap().catch((err) => {
    process.stderr.write(`orchestrator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
