export * from './config';
export * from './gateway.module';
export * from './main';
export * from './auth/bearerToken';
export * from './commands/commandSender';
export * from './events/eventFeed';
export * from './fleet/fleetReader';
