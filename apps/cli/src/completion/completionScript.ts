/**
 * bash and zsh completion scripts generated from commander's command tree: no list of verbs is kept by hand. Both
 * shells share three generated lookup functions (subcommands, options, an option's values); each has its own driver.
 */
import { Command } from 'commander';
import { commandTree, CommandInfo } from './commandTree';

export type Shell = 'bash' | 'zsh';

/** A single-quoted shell word. */
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function lookups(tree: CommandInfo[], name: string): string {
  const cases = (rows: [string, string][], fallback: string): string =>
    [...rows.map(([key, body]) => `    ${q(key)}) ${body} ;;`), `    *) ${fallback} ;;`].join('\n');
  const subs = tree.filter((c) => c.subcommands.length > 0).map((c): [string, string] => [c.path.join(' '), `echo ${q(c.subcommands.map((s) => s.name).join(' '))}`]);
  const words = tree
    .filter((c) => c.subcommands.length + c.argumentChoices.length > 0)
    .map((c): [string, string] => [c.path.join(' '), `echo ${q([...c.subcommands.map((s) => s.name), ...c.argumentChoices].join(' '))}`]);
  const described = tree
    .filter((c) => c.subcommands.length + c.argumentChoices.length > 0)
    .map((c): [string, string] => {
      const lines = [...c.subcommands.map((s) => `${s.name.replace(/:/g, '\\:')}:${s.description}`), ...c.argumentChoices.map((a) => `${a.replace(/:/g, '\\:')}:argument`)];
      return [c.path.join(' '), `printf '%s\\n' ${lines.map(q).join(' ')}`];
    });
  const options = tree.map((c): [string, string] => [c.path.join(' '), `echo ${q(c.options.flatMap((o) => o.names).join(' '))}`]);
  const values = tree.flatMap((c) =>
    c.options.filter((o) => o.takesValue).flatMap((o) => o.names.map((n): [string, string] => [`${c.path.join(' ')}|${n}`, `echo ${q(o.choices.join(' '))}`])),
  );
  return `# The subcommands of a command path ('' is ${name} itself).
_${name}_subcommands() {
  case "$1" in
${cases(subs, 'return 0')}
  esac
}
# What may come next at a command path: its subcommands and its arguments' known values.
_${name}_words() {
  case "$1" in
${cases(words, 'return 0')}
  esac
}
# The same, as name:description lines (zsh shows the descriptions).
_${name}_described() {
  case "$1" in
${cases(described, 'return 0')}
  esac
}
# The options of a command path.
_${name}_options() {
  case "$1" in
${cases(options, 'return 0')}
  esac
}
# "PATH|OPTION": the option's allowed values (empty: any value); fails when the option takes no value.
_${name}_option_values() {
  case "$1|$2" in
${cases(values, 'return 1')}
  esac
}
# The command path the words before the cursor name (options and their values skipped).
_${name}_path() {
  local cmdpath="" word skip=0
  for word in "$@"; do
    if [[ $skip == 1 ]]; then skip=0; continue; fi
    if [[ "$word" == -* ]]; then
      if [[ "$word" != *=* ]] && _${name}_option_values "$cmdpath" "$word" >/dev/null; then skip=1; fi
      continue
    fi
    if [[ " $(_${name}_subcommands "$cmdpath") " == *" $word "* ]]; then cmdpath="\${cmdpath:+$cmdpath }$word"; fi
  done
  echo "$cmdpath"
}`;
}

function bashDriver(name: string): string {
  return `_${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmdpath values
  cmdpath="$(_${name}_path "\${COMP_WORDS[@]:1:COMP_CWORD-1}")"
  if [[ $COMP_CWORD -gt 1 ]]; then prev="\${COMP_WORDS[COMP_CWORD-1]}"; fi
  if [[ "$prev" == -* ]] && values="$(_${name}_option_values "$cmdpath" "$prev")"; then
    # No known values: bash falls back to file names (-o default).
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_${name}_options "$cmdpath")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_${name}_words "$cmdpath")" -- "$cur"))
  fi
}
complete -o default -F _${name} ${name}`;
}

function zshDriver(name: string): string {
  return `_${name}() {
  local cmdpath prev values
  local -a described
  cmdpath="$(_${name}_path "\${(@)words[2,CURRENT-1]}")"
  prev="\${words[CURRENT-1]}"
  if (( CURRENT > 2 )) && [[ "$prev" == -* ]] && values="$(_${name}_option_values "$cmdpath" "$prev")"; then
    if [[ -n "$values" ]]; then compadd -- \${=values}; else _files; fi
    return
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    compadd -- \${=$(_${name}_options "$cmdpath")}
  else
    described=("\${(@f)$(_${name}_described "$cmdpath")}")
    if (( \${#described} > 0 )) && [[ -n "\${described[1]}" ]]; then _describe -t commands '${name} command' described; else _files; fi
  fi
}
compdef _${name} ${name}`;
}

/** The script for `shell`, from the tree under `root`. */
export function completionScript(root: Command, shell: Shell): string {
  const name = root.name();
  const tree = commandTree(root);
  const header =
    shell === 'bash'
      ? `# bash completion for ${name}, generated from its command tree by \`${name} completion bash\`.\n# Load it with: source <(${name} completion bash)`
      : `#compdef ${name}\n# zsh completion for ${name}, generated from its command tree by \`${name} completion zsh\`.\n# Load it (after compinit) with: source <(${name} completion zsh)`;
  return `${header}\n${lookups(tree, name)}\n${shell === 'bash' ? bashDriver(name) : zshDriver(name)}\n`;
}
