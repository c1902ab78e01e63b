/** Reads commander's command tree (its visible subcommands and options, as its own help shows them) for completion. */
import { Command } from 'commander';

export interface OptionInfo {
  /** `--cluster`, and `-o` when it has a short form. */
  names: string[];
  takesValue: boolean;
  /** The allowed values when commander knows them (`.choices()`). */
  choices: string[];
}

export interface CommandInfo {
  /** Words after `tandem`, e.g. ['node', 'maintenance', 'on']. */
  path: string[];
  description: string;
  subcommands: { name: string; description: string }[];
  options: OptionInfo[];
  /** The allowed values of its positional arguments, when commander knows them (`tandem completion bash|zsh`). */
  argumentChoices: string[];
}

/** Every command under `root` (root included), depth first, as its help lists them. */
export function commandTree(root: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const visit = (cmd: Command, path: string[]): void => {
    const help = cmd.createHelp();
    const subs = help.visibleCommands(cmd).filter((c) => c.name() !== 'help' || cmd.commands.includes(c));
    out.push({
      path,
      description: cmd.description(),
      subcommands: subs.map((c) => ({ name: c.name(), description: c.description() })),
      options: help.visibleOptions(cmd).map((o) => ({
        names: [o.long, o.short].filter((n): n is string => typeof n === 'string'),
        takesValue: o.required || o.optional,
        choices: o.argChoices ?? [],
      })),
      argumentChoices: cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
    });
    for (const sub of subs) if (cmd.commands.includes(sub)) visit(sub, [...path, sub.name()]);
  };
  visit(root, []);
  return out;
}
