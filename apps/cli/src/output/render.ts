/** `-o table|json` for every read verb: json prints the API's own objects, table picks columns through cli-table3. */
import Table from 'cli-table3';
import { Command, Option } from 'commander';
import { CliError, EXIT } from '../api/graphqlClient';

export type OutputFormat = 'table' | 'json';

export function withOutputOption(cmd: Command): Command {
  return cmd.addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'));
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/** Prints rows (or one object) as JSON exactly as the API answered, or as a table of the given columns. */
export function render<T>(format: OutputFormat, data: T[] | T, columns: Column<T>[]): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const rows = Array.isArray(data) ? data : [data];
  const table = new Table({ head: columns.map((c) => c.header), style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map((c) => cell(c.value(row))));
  process.stdout.write(`${table.toString()}\n`);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

/** A null lookup is "not found" (exit 3). */
export function found<T>(value: T | null, what: string, id: string): T {
  if (value === null || value === undefined) throw new CliError(`no ${what} with id ${id}`, EXIT.notFound);
  return value;
}
