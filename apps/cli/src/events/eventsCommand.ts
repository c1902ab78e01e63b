/** `tandem events tail|replay`: follow the fleet's event stream, and rebuild the read models from the log. */
import { Command, InvalidArgumentError } from 'commander';

function position(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a global position (a whole number)');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('position too large');
  return n;
}

export function eventsCommand(): Command {
  const events = new Command('events').description('the fleet event log: follow it, or rebuild the read models from it');

  events
    .command('tail')
    .description('follow the JetStream event stream like tail -f: events from now on (Ctrl-C stops)')
    .option('--from <position>', 'start at this global position instead (0: the whole history)', position)
    .option('--type <EventType>', 'only this event type, e.g. DeviceCreated')
    .option('--json', 'one JSON object per line')
    .option('--durable <name>', 'resume where the last tail of this name stopped (the server forgets it after a day unused)')
    .option('--nats <url>', 'NATS server (default NATS_URL or nats://127.0.0.1:4222)')
    .action(async (opts: { from?: number; type?: string; json?: boolean; nats?: string; durable?: string }) => {
      // Loaded on use: `tandem serve` stays free of the control plane's dependencies.
      const { tail } = await import('@tandem/orchestrator');
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      try {
        if (opts.durable !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(opts.durable)) {
          process.stderr.write('tandem events tail: --durable: letters, digits, - and _ (at most 64)\n');
          process.exit(2);
        }
        const onReady = (what: string) => process.stderr.write(`tandem events tail: ${what}\n`);
        await tail({ from: opts.from, type: opts.type, json: opts.json, natsUrl: opts.nats, durable: opts.durable, signal: abort.signal, onReady });
      } catch (err) {
        const message = (err as Error).message;
        // A bad --type is bad input (exit 2); anything else (NATS unreachable, …) is an operational failure.
        if (message.startsWith('--type')) {
          process.stderr.write(`tandem events tail: ${message}\n`);
          process.exit(2);
        }
        throw err;
      }
    });

  events
    .command('replay')
    .description('drop and rebuild the read models (sites, clusters, nodes, devices) from the event log')
    .option('--database <url>', 'Postgres URL (default DATABASE_URL, else the embedded database under .tandem/)')
    .action(async (opts: { database?: string }) => {
      const { replay } = await import('@tandem/orchestrator');
      await replay({ databaseUrl: opts.database });
    });

  return events;
}
