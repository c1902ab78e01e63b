/** The logging surface the data plane needs; pino loggers satisfy it. */
export type LogFn = (obj: object, msg?: string) => void;
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child?(bindings: object): Logger;
}
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
