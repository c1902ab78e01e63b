/** GraphQL gateway: `node dist/main.js` (TANDEM_API_TOKEN required; DATABASE_URL, NATS_URL, TANDEM_GATEWAY_LISTEN). */
import 'reflect-metadata';
import type { AddressInfo } from 'net';
import { NestFactory } from '@nestjs/core';
import { unknownTandemVariablesWarning } from '@tandem/contracts';
import { settingsFromEnv, type GatewaySettings } from './config';
import { GatewayModule, type GatewayModuleOptions } from './gateway.module';

export async function bootstrapGateway(settings: GatewaySettings = settingsFromEnv(), options: GatewayModuleOptions & { logger?: false | ('error' | 'warn' | 'log')[] } = {}) {
  const app = await NestFactory.create(GatewayModule.forRoot(settings, options), { logger: options.logger ?? ['error', 'warn', 'log'] });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(settings.port, settings.host);
  const address = app.getHttpServer().address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { app, url: `http://${host}:${address.port}${settings.path}`, wsUrl: `ws://${host}:${address.port}${settings.path}` };
}

if (require.main === module) {
  let settings: GatewaySettings;
  try {
    settings = settingsFromEnv();
    const warning = unknownTandemVariablesWarning('gateway', process.env);
    if (warning) process.stderr.write(`${warning}\n`);
  } catch (error) {
    process.stderr.write(`gateway: ${(error as Error).message}\n`);
    process.exit(2);
  }
  bootstrapGateway(settings)
    .then(({ url }) => process.stdout.write(`gateway: GraphQL at ${url} (reads ${settings.readsRequireToken ? 'need the token' : 'open on loopback'}, mutations need the token)\n`))
    .catch((err) => {
      process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    });
}
