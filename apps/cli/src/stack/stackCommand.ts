/** `tandem stack`: NATS, orchestrator, GraphQL gateway and two node agents on this machine, for trying Tandem out; `kill` and `restart` act on one node of it. */
import { Command } from 'commander';
import { EnvConfigError, parseEnv, unknownTandemVariablesWarning } from '@tandem/contracts';
import type { ControlVerb } from './controlProtocol';
import { resolveDataDir, STACK_DEFAULTS, StackConfigError, stackOptionsFrom, type StackFlags } from './stackOptions';

export function stackCommand(): Command {
  const stack = new Command('stack')
    .description('run the whole control plane and two node agents on this machine (what `npm start` runs); Ctrl-C stops it')
    .option('--data-dir <dir>', `where the database, NATS store, node state, token and logs live (env TANDEM_DATA_DIR; default ${STACK_DEFAULTS.dataDir})`)
    .option('--gateway <host:port>', `GraphQL gateway address (env TANDEM_GATEWAY_LISTEN; default ${STACK_DEFAULTS.gateway})`)
    .option('--nats-port <port>', `port of the private nats-server on 127.0.0.1, 0 for any free port (env TANDEM_STACK_NATS_PORT; default ${STACK_DEFAULTS.natsPort}; unused with NATS_URL)`)
    .option('--nodes <addr,addr>', `one node agent per loopback address (env TANDEM_STACK_NODES; default ${STACK_DEFAULTS.nodes})`)
    .option('--iscsi-port <port>', `iSCSI port of every node (env TANDEM_STACK_ISCSI_PORT; default ${STACK_DEFAULTS.iscsiPort})`)
    .option('--http-port <port>', `health and metrics port of every node (env TANDEM_STACK_HTTP_PORT; default ${STACK_DEFAULTS.httpPort})`)
    .option('--sync-port <port>', `HA sync link port (TCP) of every node (env TANDEM_STACK_SYNC_PORT; default ${STACK_DEFAULTS.syncPort})`)
    .option('--heartbeat-port <port>', `HA heartbeat port (UDP) of every node (env TANDEM_STACK_HEARTBEAT_PORT; default ${STACK_DEFAULTS.heartbeatPort})`)
    .option('--registration-timeout <seconds>', `how long the nodes get to register (env TANDEM_STACK_REGISTRATION_TIMEOUT; default ${STACK_DEFAULTS.registrationTimeoutSeconds})`)
    .option('--verbose', 'echo the orchestrator, gateway, agents and nats-server logs here (they always go to <data-dir>/logs)')
    .option('--no-restart', 'leave a node agent that died down (env TANDEM_STACK_NO_RESTART=1); default: restart it after 1 s, 2 s, 4 s … 30 s')
    .addHelpText(
      'after',
      `
Environment:
  NATS_URL           use this NATS server (JetStream required) instead of starting a private nats-server
  DATABASE_URL       use this Postgres instead of the embedded PGlite under <data-dir>/pgdata
  TANDEM_API_TOKEN   the gateway's bearer token; default: generated once, kept in <data-dir>/api-token (mode 0600)

A node agent that dies once the stack is ready is reported with the last lines of its log and restarted (unless
--no-restart); the rest keeps running. \`tandem stack kill NODE\` and \`tandem stack restart NODE\` act on it.

Exit codes: 0 after Ctrl-C/SIGTERM, 1 when a part failed or died (nats-server, or an agent before ready), 2 for a
bad environment (a port in use, nats-server missing, NATS_URL or DATABASE_URL unreachable); then nothing is left running.`,
    )
    .action(async (flags: StackFlags) => {
      let options;
      try {
        options = stackOptionsFrom(flags, process.env);
        // The orchestrator and the gateway run in this process on the same environment: check their variables
        // before anything starts, so a bad one stops the stack here rather than half-way up.
        const [{ orchestratorEnvSchema }, { gatewayEnvSchema }] = await Promise.all([import('@tandem/orchestrator'), import('@tandem/gateway')]);
        parseEnv({ ...orchestratorEnvSchema, ...gatewayEnvSchema }, process.env);
      } catch (error) {
        if (!(error instanceof StackConfigError) && !(error instanceof EnvConfigError)) throw error;
        process.stderr.write(`tandem stack: ${error.message}\n`);
        process.exit(2);
      }
      const warning = unknownTandemVariablesWarning('tandem stack', process.env);
      if (warning) process.stderr.write(`${warning}\n`);
      const { Stack } = await import('./runStack');
      const code = await new Stack(options).run();
      // Let stdout drain (the ready block, the last lines) before leaving.
      process.stdout.write('', () => process.exit(code));
    });
  stack.addCommand(nodeCommand('kill', 'send SIGKILL to NODE\'s agent in the running stack (to watch a failover); the stack restarts it unless --no-restart'));
  stack.addCommand(nodeCommand('restart', 'restart NODE\'s agent in the running stack (SIGTERM, wait, start), or start it if it is down; returns once it registered'));
  return stack;
}

/** `tandem stack kill|restart NODE`: sent to the stack running on the data directory; exit 0 done, 1 not done, 2 bad input or no stack. */
function nodeCommand(verb: ControlVerb, description: string): Command {
  return new Command(verb)
    .description(`${description}. The stack on --data-dir / TANDEM_DATA_DIR (default ${STACK_DEFAULTS.dataDir}).`)
    .argument('<node>', 'the node, as the stack names it: node-a, node-b, …')
    .action(async (node: string, _flags: unknown, command: Command) => {
      const dataDir = resolveDataDir(command.optsWithGlobals<{ dataDir?: string }>(), process.env);
      const { sendControlRequest } = await import('./controlClient');
      const outcome = await sendControlRequest(verb, node, dataDir);
      const stream = outcome.code === 0 ? process.stdout : process.stderr;
      stream.write(`${outcome.code === 0 ? '' : `tandem stack ${verb}: `}${outcome.message}\n`, () => process.exit(outcome.code));
    });
}
