// infra/prometheus/tandem-alerts.rules.yml: promtool accepts it (syntax, PromQL, templates), and it has a rule for
// every alert kind the control plane raises, each with a severity the contracts know.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { alertKindSchema, alertSeveritySchema } from '@tandem/contracts';

const RULES = path.join(__dirname, '..', '..', 'infra', 'prometheus', 'tandem-alerts.rules.yml');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const noPromtool = promtool.error ? `promtool not installed (Debian package prometheus; scripts/setup.sh installs it): ${promtool.error.message}` : '';

/** Series names docs/operations.md documents: `a_{b,c}_d` expands, `x_*` stands for a prefix, `x{label}` is x. */
function documentedSeries(): { names: Set<string>; prefixes: string[] } {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const [, written] of doc.matchAll(/`(tandem_[a-z0-9_{},*]+)/g)) {
    // A trailing `{labels}` names labels; braces inside a name (`_{read,write}_`) are alternatives.
    const raw = written.replace(/\{[a-z_,]+\}$/, '');
    const m = /^(.*)\{([a-z,]+)\}(.*)$/.exec(raw);
    for (const name of m ? m[2].split(',').map((part) => `${m[1]}${part}${m[3]}`) : [raw]) {
      if (name.endsWith('*')) prefixes.push(name.slice(0, -1));
      else names.add(name);
    }
  }
  return { names, prefixes };
}

describe('Prometheus alert rules and the Grafana dashboard', () => {
  const text = fs.readFileSync(RULES, 'utf8');
  // One rule per `- alert:` entry, its severity from the `labels: { severity: … }` line that follows it.
  const rules = [...text.matchAll(/- alert: (\w+)\n(?:(?! {6}- alert:)[\s\S])*?labels: \{ severity: (\w+) \}/g)].map((m) => ({ name: m[1], severity: m[2] }));

  it('passes promtool check rules', () => {
    if (noPromtool) {
      console.warn(`skipped: ${noPromtool}`);
      return;
    }
    const run = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`).toContain(`SUCCESS: ${(text.match(/- alert: /g) ?? []).length} rules found`);
    expect(run.status).toBe(0);
  });

  it('has a rule for every alert kind, with a known severity', () => {
    expect(rules.length).toBe((text.match(/- alert: /g) ?? []).length);
    const names = new Set(rules.map((r) => r.name));
    for (const kind of alertKindSchema.options) expect(names.has(kind) ? kind : `missing rule ${kind}`).toBe(kind);
    for (const r of rules) expect(alertSeveritySchema.options).toContain(r.severity);
  });

  it('use only series the docs describe, and the dashboard is a Grafana dashboard of Prometheus queries', () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'infra', 'grafana', 'tandem-dashboard.json'), 'utf8')) as {
      title: string;
      panels: { type: string; targets?: { expr: string }[] }[];
    };
    const queries = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(queries.length).toBeGreaterThan(15);
    const { names, prefixes } = documentedSeries();
    const used = new Set([...`${text}\n${queries.join('\n')}`.matchAll(/\b(tandem_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')));
    const undocumented = [...used].filter((n) => !names.has(n) && !prefixes.some((p) => n.startsWith(p)));
    expect(undocumented).toEqual([]);
  });
});
