/** The gateway's environment schema: defaults, valid values and the message for each bad value. */
import { KNOWN_TANDEM_VARIABLES } from '@tandem/contracts';
import { GatewayConfigError, gatewayEnvSchema, settingsFromEnv } from './config';
import { DEFAULT_MAX_COMPLEXITY } from './limits/queryLimits';

const token = 't'.repeat(32);

describe('gateway settings from the environment', () => {
  it('keeps every default', () => {
    expect(settingsFromEnv({ TANDEM_API_TOKEN: token })).toMatchObject({ host: '127.0.0.1', port: 4000, path: '/graphql', readsRequireToken: false, commandTimeoutMs: 10_000, maxDepth: 8, maxComplexity: DEFAULT_MAX_COMPLEXITY });
  });

  it('reads valid values', () => {
    const s = settingsFromEnv({ TANDEM_API_TOKEN: token, TANDEM_GATEWAY_LISTEN: '[::1]:4400', TANDEM_GATEWAY_READS_REQUIRE_TOKEN: '1', TANDEM_GATEWAY_COMMAND_TIMEOUT_MS: '3s', TANDEM_GATEWAY_MAX_DEPTH: '12', TANDEM_GATEWAY_MAX_COMPLEXITY: '2000000' });
    expect(s).toMatchObject({ host: '::1', port: 4400, readsRequireToken: true, commandTimeoutMs: 3000, maxDepth: 12, maxComplexity: 2_000_000 });
  });

  it.each([
    ['TANDEM_GATEWAY_MAX_COMPLEXITY', '1e6x', 'must be a positive integer'],
    ['TANDEM_GATEWAY_MAX_COMPLEXITY', '0', 'must be a positive integer'],
    ['TANDEM_GATEWAY_MAX_DEPTH', 'eight', 'must be a positive integer'],
    ['TANDEM_GATEWAY_COMMAND_TIMEOUT_MS', '10 sec', 'must be a duration from 100ms to 600s'],
    ['TANDEM_GATEWAY_READS_REQUIRE_TOKEN', 'yes please', 'must be 1 or 0'],
    ['TANDEM_GATEWAY_LISTEN', 'localhost', 'must be HOST:PORT, such as 127.0.0.1:4000'],
    ['TANDEM_NODE_LOST_AFTER', 'x', 'must be a duration'],
  ])('%s=%j is refused: %s', (name, value, expected) => {
    const run = () => settingsFromEnv({ TANDEM_API_TOKEN: token, [name]: value });
    expect(run).toThrow(GatewayConfigError);
    expect(run).toThrow(`${name}=${JSON.stringify(value)} ${expected}`);
  });

  it('still refuses a missing or short token', () => {
    expect(() => settingsFromEnv({})).toThrow(/TANDEM_API_TOKEN is not set/);
    expect(() => settingsFromEnv({ TANDEM_API_TOKEN: 'short' })).toThrow(/at least 16/);
  });

  it('lists each of its variables among the known TANDEM_* names', () => {
    for (const name of Object.keys(gatewayEnvSchema)) expect(KNOWN_TANDEM_VARIABLES).toContain(name);
  });
});
