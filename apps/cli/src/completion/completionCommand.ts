/** `tandem completion bash|zsh`: prints the shell's completion script for the whole `tandem` command tree. */
import { Argument, Command } from 'commander';
import { completionScript, Shell } from './completionScript';

export function completionCommand(): Command {
  return new Command('completion')
    .description('print a shell completion script: source <(tandem completion bash), or zsh')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: Shell, _opts: unknown, cmd: Command) => {
      let root = cmd;
      while (root.parent) root = root.parent;
      process.stdout.write(completionScript(root, shell));
    });
}
