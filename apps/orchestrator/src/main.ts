/** Orchestrator: the only writer of the event log. `node dist/main.js` (DATABASE_URL, NATS_URL from the environment). */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { unknownTandemVariablesWarning } from '@tandem/contracts';
import { OrchestratorModule } from './app.module';
import { settingsFromEnv, type OrchestratorSettings } from './config';

export async function bootstrap(settings: OrchestratorSettings = settingsFromEnv()) {
  const app = await NestFactory.createApplicationContext(OrchestratorModule.forRoot(settings), { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.init();
  return app;
}

/** Standalone, the orchestrator serves /health/* and /metrics on 127.0.0.1:4001 unless TANDEM_ORCHESTRATOR_HTTP says otherwise. */
export const DEFAULT_ORCHESTRATOR_HTTP = { host: '127.0.0.1', port: 4001 };

if (require.main === module) {
  Promise.resolve()
    .then(() => {
      const settings = settingsFromEnv();
      const warning = unknownTandemVariablesWarning('orchestrator', process.env);
      if (warning) process.stderr.write(`${warning}\n`);
      return bootstrap({ ...settings, httpListen: settings.httpListen === undefined ? DEFAULT_ORCHESTRATOR_HTTP : settings.httpListen });
    })
    .catch((err) => {
      process.stderr.write(`orchestrator: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    });
}
