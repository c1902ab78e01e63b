/** `tandem stack`: NATS, orchestrator, GraphQL gateway and two node agents on this machine, for trying Tandem out. */
import { Command } from 'commander';
import { STACK_DEFAULTS, StackConfigError, stackOptionsFrom, type StackFlags } from './stackOptions';

export function stackCommand(): Command {
  return new Command('stack')
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
    .addHelpText(
      'after',
      `
Environment:
  NATS_URL           use this NATS server (JetStream required) instead of starting a private nats-server
  DATABASE_URL       use this Postgres instead of the embedded PGlite under <data-dir>/pgdata
  TANDEM_API_TOKEN   the gateway's bearer token; default: generated once, kept in <data-dir>/api-token (mode 0600)

Exit codes: 0 after Ctrl-C/SIGTERM, 1 when a part failed or died, 2 for a bad environment (a port in use,
nats-server missing, NATS_URL or DATABASE_URL unreachable); then nothing is left running.`,
    )
    .action(async (flags: StackFlags) => {
      let options;
      try {
        options = stackOptionsFrom(flags, process.env);
      } catch (error) {
        if (!(error instanceof StackConfigError)) throw error;
        process.stderr.write(`tandem stack: ${error.message}\n`);
        process.exit(2);
      }
      const { Stack } = await import('./runStack');
      const code = await new Stack(options).run();
      // Let stdout drain (the ready block, the last lines) before leaving.
      process.stdout.write('', () => process.exit(code));
    });
}
