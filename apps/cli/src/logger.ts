import pino from 'pino';

/** JSON logs on stdout (one object a line), level from TANDEM_LOG_LEVEL. */
export function createLogger(name: string) {
  return pino({ name, level: process.env.TANDEM_LOG_LEVEL ?? 'info', base: { pid: process.pid } });
}
