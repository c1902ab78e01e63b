/** The `tandem` command. */
import { Command } from 'commander';
import { benchCommand } from './bench/benchCommand';
import { CliError } from './api/graphqlClient';
import { deviceCommand } from './device/deviceCommand';
import { alertsCommand, clusterCommand, nodeCommand, siteCommand } from './fleet/fleetCommands';
import { eventsCommand } from './events/eventsCommand';
import { completionCommand } from './completion/completionCommand';
import { haCommand } from './ha/haCommand';
import { lsfsCommand } from './lsfs/lsfsCommand';
import { serveCommand } from './serve/serveCommand';
import { stackCommand } from './stack/stackCommand';
import { witnessCommand } from './witness/witnessCommand';

/** The whole command tree, parsed by main and read by `tandem completion`. */
export function buildProgram(): Command {
  const program = new Command('tandem')
    .description('Tandem: a highly-available virtual SAN')
    .version(require('../package.json').version)
    .showHelpAfterError('(tandem --help lists the commands)')
    .exitOverride(exitOnUsageError);
  program.addCommand(serveCommand().exitOverride(exitOnUsageError).showHelpAfterError('(tandem serve --help lists the options)'));
  const events = eventsCommand().exitOverride(exitOnUsageError);
  events.commands.forEach((c) => c.exitOverride(exitOnUsageError).showHelpAfterError('(tandem events --help lists the options)'));
  program.addCommand(events);
  const stack = stackCommand().exitOverride(exitOnUsageError).showHelpAfterError('(tandem stack --help lists the options)');
  stack.commands.forEach((c) => c.exitOverride(exitOnUsageError).showHelpAfterError(`(tandem stack ${c.name()} --help says more)`));
  program.addCommand(stack);
  const lsfs = lsfsCommand().exitOverride(exitOnUsageError);
  const exitAll = (c: Command): void => c.commands.forEach((sub) => (sub.exitOverride(exitOnUsageError).showHelpAfterError('(tandem lsfs --help lists the commands)'), exitAll(sub)));
  exitAll(lsfs);
  program.addCommand(lsfs);
  const ha = haCommand().exitOverride(exitOnUsageError);
  ha.commands.forEach((c) => c.exitOverride(exitOnUsageError).showHelpAfterError('(tandem ha --help lists the commands)'));
  program.addCommand(ha);
  program.addCommand(witnessCommand().exitOverride(exitOnUsageError).showHelpAfterError('(tandem witness --help lists the options)'));
  // Bad bench flags are one line (no help, no suggestions) and exit 2.
  program.addCommand(benchCommand().exitOverride(exitOnUsageError));
  // API verbs: usage errors exit 2 like the others; their CliErrors carry 1, 2 or 3.
  for (const c of [deviceCommand(), nodeCommand(), clusterCommand(), siteCommand(), alertsCommand()]) {
    const name = c.name();
    const exitAllApi = (x: Command): void => x.commands.forEach((sub) => (sub.exitOverride(exitOnUsageError).showHelpAfterError(`(tandem ${name} --help lists the commands)`), exitAllApi(sub)));
    exitAllApi(c);
    program.addCommand(c.exitOverride(exitOnUsageError));
  }
  program.addCommand(completionCommand().exitOverride(exitOnUsageError).showHelpAfterError('(tandem completion --help says more)'));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    console.error(`tandem: ${err.message}`);
    process.exit(err.exitCode);
  }
}

/** Usage errors are bad input (exit 2); --help and --version exit 0. */
function exitOnUsageError(err: { exitCode: number }): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}
