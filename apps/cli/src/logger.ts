/** JSON logs on stdout (one object a line) for `tandem serve` and `tandem witness`, level from TANDEM_LOG_LEVEL. */
import pino from 'pino';
import { env, EnvConfigError, LOG_LEVELS, parseEnv, unknownTandemVariablesWarning } from '@tandem/contracts';

/** The variables these long-running commands read from the environment (their other settings are flags). */
export const serveEnvSchema = { TANDEM_LOG_LEVEL: env.oneOf(LOG_LEVELS, 'info') };

/** A bad TANDEM_LOG_LEVEL stops the command with exit code 2 and says what is expected; unknown TANDEM_* names are warned about once. */
export function createLogger(name: string, source: NodeJS.ProcessEnv = process.env) {
  let level: string;
  try {
    level = parseEnv(serveEnvSchema, source).TANDEM_LOG_LEVEL;
  } catch (error) {
    if (!(error instanceof EnvConfigError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(2);
  }
  const warning = unknownTandemVariablesWarning(name, source);
  if (warning) process.stderr.write(`${warning}\n`);
  return pino({ name, level, base: { pid: process.pid } });
}
