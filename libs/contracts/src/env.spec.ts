/** The shared environment-variable field types and parseEnv's messages. */
import { env, EnvConfigError, parseByteSize, parseDurationMs, parseEnv, parseHostPort, unknownTandemVariables, unknownTandemVariablesWarning } from './env';

describe('environment variables', () => {
  const shape = {
    TANDEM_A_COUNT: env.positiveInt(8),
    TANDEM_A_WAIT: env.durationMs(5000, { bareUnit: 's', minMs: 100, maxMs: 3_600_000 }),
    TANDEM_A_LISTEN: env.hostPort('127.0.0.1:4000'),
    TANDEM_A_ON: env.flag(false),
    TANDEM_A_SIZE: env.byteSize(),
    TANDEM_A_LEVEL: env.oneOf(['info', 'debug'] as const, 'info'),
  };

  it('gives the defaults for unset and empty variables', () => {
    expect(parseEnv(shape, { TANDEM_A_COUNT: '' })).toEqual({
      TANDEM_A_COUNT: 8,
      TANDEM_A_WAIT: 5000,
      TANDEM_A_LISTEN: { host: '127.0.0.1', port: 4000 },
      TANDEM_A_ON: false,
      TANDEM_A_SIZE: undefined,
      TANDEM_A_LEVEL: 'info',
    });
  });

  it('parses valid values', () => {
    expect(parseEnv(shape, { TANDEM_A_COUNT: ' 12 ', TANDEM_A_WAIT: '2500ms', TANDEM_A_LISTEN: '[::1]:9', TANDEM_A_ON: '1', TANDEM_A_SIZE: '10GiB', TANDEM_A_LEVEL: 'debug' })).toEqual({
      TANDEM_A_COUNT: 12,
      TANDEM_A_WAIT: 2500,
      TANDEM_A_LISTEN: { host: '::1', port: 9 },
      TANDEM_A_ON: true,
      TANDEM_A_SIZE: 10 * 1024 ** 3,
      TANDEM_A_LEVEL: 'debug',
    });
  });

  it('names every bad variable, its value and what is expected, one per line', () => {
    let error: unknown;
    try {
      parseEnv(shape, { TANDEM_A_COUNT: '1e6x', TANDEM_A_WAIT: 'soon', TANDEM_A_LISTEN: '4000', TANDEM_A_ON: 'maybe', TANDEM_A_SIZE: '-1', TANDEM_A_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvConfigError);
    expect((error as EnvConfigError).problems).toEqual([
      'TANDEM_A_COUNT="1e6x" must be a positive integer',
      'TANDEM_A_WAIT="soon" must be a duration from 100ms to 3600s, such as 5s or 2500ms (a bare number is in seconds)',
      'TANDEM_A_LISTEN="4000" must be HOST:PORT, such as 127.0.0.1:4000 or [::1]:4000',
      'TANDEM_A_ON="maybe" must be 1 or 0',
      'TANDEM_A_SIZE="-1" must be a size in bytes, such as 1073741824, 512MiB or 10GiB',
      'TANDEM_A_LEVEL="loud" must be one of info, debug',
    ]);
  });

  it('rejects values Number() would have accepted or turned into NaN', () => {
    for (const bad of ['0', '1.5', '0x10', 'NaN', 'Infinity', '1e3', '-3']) {
      expect(() => parseEnv({ N: env.positiveInt(1) }, { N: bad })).toThrow(`N=${JSON.stringify(bad)} must be a positive integer`);
    }
    expect(() => parseEnv({ N: env.wholeNumber(5, 0, 10) }, { N: '11' })).toThrow('N="11" must be a whole number from 0 to 10');
    expect(() => parseEnv({ N: env.decimal(0, 0) }, { N: '-0.5' })).toThrow('N="-0.5" must be a number ≥ 0');
  });

  it('labels a variable by the flag that set it', () => {
    expect(() => parseEnv({ TANDEM_A_COUNT: env.positiveInt(1) }, { TANDEM_A_COUNT: 'x' }, () => '--count')).toThrow('--count="x" must be a positive integer');
  });

  it('reads durations, sizes and endpoints', () => {
    expect(parseDurationMs('1.5s', { bareUnit: 'ms' })).toBe(1500);
    expect(parseDurationMs('2m', { bareUnit: 'ms' })).toBe(120_000);
    expect(parseDurationMs('250', { bareUnit: 'ms' })).toBe(250);
    expect(parseDurationMs('3', { bareUnit: 's' })).toBe(3000);
    expect(() => parseDurationMs('50ms', { bareUnit: 'ms', minMs: 100 })).toThrow(/from 100ms/);
    expect(parseByteSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('4096')).toBe(4096);
    expect(() => parseByteSize('12 parsecs')).toThrow(/size in bytes/);
    expect(parseHostPort('node-a.lan:3261')).toEqual({ host: 'node-a.lan', port: 3261 });
    expect(() => parseHostPort('127.0.0.1:70000')).toThrow(/HOST:PORT/);
    expect(() => parseHostPort('::1:4000')).toThrow(/HOST:PORT/);
  });

  it('finds unknown TANDEM_* names (typos), never TANDEM_TEST_* or other variables', () => {
    const source = { TANDEM_GATEWAY_MAX_DEPHT: '8', TANDEM_API_TOKEN: 'x', TANDEM_TEST_POSTGRES_URL: 'x', PATH: '/bin', TANDEM_NODE_LOST_AFTR: '5s' };
    expect(unknownTandemVariables(source)).toEqual(['TANDEM_GATEWAY_MAX_DEPHT', 'TANDEM_NODE_LOST_AFTR']);
    expect(unknownTandemVariablesWarning('gateway', source)).toMatch(/^gateway: warning: ignoring unknown environment variables TANDEM_GATEWAY_MAX_DEPHT, TANDEM_NODE_LOST_AFTR/);
    expect(unknownTandemVariablesWarning('gateway', { TANDEM_API_TOKEN: 'x' })).toBeUndefined();
  });
});
