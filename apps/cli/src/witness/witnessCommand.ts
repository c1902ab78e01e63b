/** `tandem witness`: the tie-breaker of two-node HA devices with the node-majority strategy. */
import { Command } from 'commander';
import { WitnessServer } from '@tandem/replication';
import { createLogger } from '../logger';
import { EXIT_BAD_INPUT } from '../serve/serveCommand';

function endpoint(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[3]) > 65535) throw new Error(`--listen ${value}: expected HOST:PORT`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

export function witnessCommand(): Command {
  const listen: string[] = [];
  return new Command('witness')
    .description('vote for one replica of a two-node HA device when its nodes lose each other (strategy node-majority)')
    .option('--listen <host:port>', 'UDP address to answer on (repeatable; default 0.0.0.0:3264)', (v: string) => (listen.push(v), v))
    .requiredOption('--state <file>', 'where the votes given are kept (they survive a restart)')
    .action(async (opts: { state: string }) => {
      const log = createLogger('tandem-witness');
      let server: WitnessServer;
      try {
        server = new WitnessServer({ listen: (listen.length ? listen : ['0.0.0.0:3264']).map(endpoint), stateFile: opts.state, log: (m) => log.info({}, m) });
        const addresses = await server.start();
        log.info({ listen: addresses, votes: server.holdersNow() }, 'ready');
      } catch (err) {
        process.stderr.write(`tandem witness: ${(err as Error).message}\n`);
        process.exit(EXIT_BAD_INPUT);
      }
      const stop = () => void server.stop().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
