/**
 * The stack's node agents: one child process each (apps/node-agent), one loopback address each, a state
 * directory of its own under `<dataDir>/nodes/<name>` holding its config file, node id, outbox and device images.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { StackChild } from './childProcess';
import { formatEndpoint, StackConfigError, type StackNode } from './stackOptions';

export interface RunningAgent {
  node: StackNode;
  child: StackChild;
}

export interface AgentHealth {
  status: string;
  nodeId: string;
  registration: 'pending' | 'registered' | 'refused';
  nats: string;
  luns: number;
}

/**
 * Writes the agent's config when it has none: its portal (with the node's own portal group tag), its sync and
 * heartbeat links for HA devices (the agent fills in its node id) and no targets (the HostConfig schema allows none:
 * a node gets its devices from the orchestrator). An existing config keeps its targets (the agent records the
 * devices it serves there) and only gets the portal and links the stack was asked for.
 */
export function writeAgentConfig(node: StackNode): void {
  fs.mkdirSync(node.stateDir, { recursive: true, mode: 0o700 });
  const portals = [{ host: node.iscsi.host, port: node.iscsi.port, portalGroupTag: node.portalGroupTag }];
  const replication = { sync: [node.sync], heartbeat: [node.heartbeat] };
  let config: Record<string, unknown> = { portals, targets: [], replication };
  if (fs.existsSync(node.configPath)) {
    try {
      config = JSON.parse(fs.readFileSync(node.configPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new StackConfigError(`${node.configPath} is not valid JSON (${(err as Error).message}); fix it, or delete ${node.stateDir} to start ${node.name} afresh`);
    }
    const recorded = config.replication as { nodeId?: string; sync?: unknown; heartbeat?: unknown } | undefined;
    const wanted = { ...replication, ...(recorded?.nodeId ? { nodeId: recorded.nodeId } : {}) };
    if (JSON.stringify(config.portals) === JSON.stringify(portals) && JSON.stringify(recorded) === JSON.stringify(wanted)) return;
    config = { ...config, portals, replication: wanted };
  }
  const tmp = `${node.configPath}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, node.configPath);
}

export async function startAgent(node: StackNode, agentMain: string, natsUrl: string, dataDir: string, echo: boolean): Promise<RunningAgent> {
  writeAgentConfig(node);
  const child = new StackChild({
    name: node.name,
    command: process.execPath,
    args: [agentMain, '--config', node.configPath, '--state-dir', node.stateDir, '--http', formatEndpoint(node.http), '--nats', natsUrl, '--name', node.name],
    logFile: path.join(dataDir, 'logs', `${node.name}.log`),
    echo,
  });
  await child.start();
  return { node, child };
}

/** GET /health on the agent's management port; undefined while it does not answer. */
export function agentHealth(node: StackNode, timeoutMs = 1000): Promise<AgentHealth | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: node.http.host, port: node.http.port, path: '/health', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as AgentHealth);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * Waits until the agent reports `registration: registered`; fails if it is refused or time runs out. (An agent
 * that exits is reported by the stack's watch on the child, which sets `aborted`.)
 */
export async function waitForRegistration(agent: RunningAgent, deadline: number, aborted: () => boolean): Promise<AgentHealth> {
  let last: AgentHealth | undefined;
  while (!aborted()) {
    last = await agentHealth(agent.node);
    if (last?.registration === 'registered') return last;
    if (last?.registration === 'refused') {
      // The agent logs the orchestrator's answer: `registration refused: CODE: message`.
      const said = agent.child.lastLines().filter((l) => l.includes('registration refused')).pop();
      throw new AgentStartError(agent, `was refused by the orchestrator${said ? ` (${said.slice(said.indexOf('registration refused') + 'registration refused: '.length)})` : ''}`);
    }
    if (Date.now() > deadline) {
      const state = last ? `registration ${last.registration}, NATS ${last.nats}` : `no answer on http://${formatEndpoint(agent.node.http)}/health`;
      throw new AgentStartError(agent, `did not register in time (${state})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('stopping');
}

export class AgentStartError extends Error {
  override readonly name = 'AgentStartError';
  constructor(
    readonly agent: RunningAgent,
    reason: string,
  ) {
    super(`${agent.node.name} ${reason}`);
  }
}
