/** The `tandem` command. */
import { Command } from 'commander';
import { serveCommand } from './serve/serveCommand';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('tandem')
    .description('Tandem: a highly-available virtual SAN')
    .version(require('../package.json').version)
    .showHelpAfterError()
    .exitOverride((err) => {
      // Usage errors are bad input (exit 2); --help and --version exit 0.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  program.addCommand(serveCommand());
  await program.parseAsync(argv);
}
