/** The skeleton of an API verb: --api, --token-file and -o options, and an action handed a client and its options. */
import { Command } from 'commander';
import { GraphqlClient, withApiOptions } from './graphqlClient';
import { OutputFormat, withOutputOption } from '../output/render';

export interface VerbOptions {
  api?: string;
  tokenFile?: string;
  output: OutputFormat;
  [k: string]: unknown;
}

export function apiVerb(name: string, description: string, action: (client: GraphqlClient, opts: VerbOptions, ...args: string[]) => Promise<void>): Command {
  const cmd = withOutputOption(withApiOptions(new Command(name).description(description)));
  return cmd.action(async (...args: unknown[]) => {
    // commander passes the positionals, then the options object, then the command.
    const positional = args.slice(0, -2) as string[];
    const opts = (args[args.length - 1] as Command).opts<VerbOptions>();
    await action(new GraphqlClient(opts), opts, ...positional);
  });
}
