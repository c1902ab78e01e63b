/** Node agent settings: where the data-plane config lives and where health/metrics listen. */
export const NODE_AGENT_SETTINGS = Symbol('NODE_AGENT_SETTINGS');

export interface NodeAgentSettings {
  /** JSON file with portals, targets and LUNs (the HostConfig schema). */
  configPath: string;
  /** Health and Prometheus metrics, default 127.0.0.1:3261. */
  httpHost: string;
  httpPort: number;
}

export function settingsFromArgv(argv: string[], env: NodeJS.ProcessEnv): NodeAgentSettings {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const configPath = arg('--config') ?? env.TANDEM_NODE_CONFIG;
  if (!configPath) throw new Error('node-agent needs --config FILE (or TANDEM_NODE_CONFIG)');
  const http = arg('--http') ?? env.TANDEM_NODE_HTTP ?? '127.0.0.1:3261';
  const m = /^(.+):(\d+)$/.exec(http);
  if (!m) throw new Error(`--http ${http}: expected HOST:PORT`);
  return { configPath, httpHost: m[1].replace(/^\[|\]$/g, ''), httpPort: Number(m[2]) };
}
