// The completion scripts come from the real command tree: every registered verb is in them, and bash completes with them.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { buildProgram } from '../main';
import { completionScript } from './completionScript';

/** Every registered command path under the program, e.g. 'node maintenance on'. */
function verbPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...verbPaths(c, [...prefix, c.name()])]);
}

const hasShell = (shell: string): boolean => {
  try {
    execFileSync(shell, ['-c', 'true']);
    return true;
  } catch {
    return false;
  }
};

describe('tandem completion', () => {
  const program = buildProgram();
  const bash = completionScript(program, 'bash');
  const zsh = completionScript(program, 'zsh');
  const paths = verbPaths(program);

  it('lists every registered verb under its parent, in both scripts', () => {
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['device create-ha', 'node maintenance on', 'node maintenance off', 'site show', 'cluster show', 'alerts', 'completion', 'events tail']));
    for (const script of [bash, zsh]) {
      for (const p of paths) {
        const parent = p.slice(0, -1).join(' ');
        const line = script.split('\n').find((l) => l.startsWith(`    '${parent}') echo `));
        expect(line).toBeDefined();
        expect(line!.split(/[' ]+/)).toContain(p[p.length - 1]);
      }
    }
    expect(zsh).toMatch(/^#compdef tandem/);
    expect(zsh).toContain('compdef _tandem tandem');
    expect(bash).toContain('complete -o default -F _tandem tandem');
  });

  it('has each verb\'s options and their choices from commander', () => {
    expect(bash).toContain(`'device create-ha|--cache') echo 'none write-through write-back'`);
    expect(bash).toContain(`'device list|-o') echo 'table json'`);
    expect(bash).toMatch(/'device create-ha'\) echo '[^']*--initial-sync[^']*--sync-from/);
    expect(bash).toContain(`'completion') echo 'bash zsh'`);
  });

  it('completes in a real bash', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-completion-'));
    try {
      const file = path.join(dir, 'tandem.bash');
      fs.writeFileSync(file, bash);
      const complete = (...words: string[]): string[] => {
        const script = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tandem; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
      };
      expect(complete('tandem', 'dev')).toEqual(['device']);
      expect(complete('tandem', 'device', '')).toEqual(program.commands.find((c) => c.name() === 'device')!.commands.map((c) => c.name()));
      expect(complete('tandem', 'node', 'maintenance', '')).toEqual(['on', 'off']);
      expect(complete('tandem', 'device', 'create', '--cluster', 'c', '--store', '')).toEqual(['flat', 'lsfs']);
      expect(complete('tandem', 'device', 'create-ha', '--node', 'a', '--ini')).toEqual(['--initial-sync']);
      expect(complete('tandem', 'completion', '')).toEqual(['bash', 'zsh']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  (hasShell('zsh') ? it : it.skip)('the zsh script parses (zsh -n)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-completion-'));
    try {
      fs.writeFileSync(path.join(dir, '_tandem'), zsh);
      execFileSync('zsh', ['-n', path.join(dir, '_tandem')]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
