/**
 * The orchestrator's Prometheus series, read from the database at scrape time: the log's head, how far the read
 * models and the JetStream outbox are behind it, nodes by reachability and health, active alerts by kind; plus
 * Node's process metrics. One registry per orchestrator instance (tests run several in one process).
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { readCheckpoint } from '@tandem/event-store';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { projectionLag } from '../health/readinessChecks';
import { OUTBOX_SUBSCRIPTION } from '../outbox/jetStreamOutbox';

export function createOrchestratorMetrics(db: OrchestratorDatabase, registry = new Registry(), options: { processMetrics?: boolean } = {}): Registry {
  const registers = [registry];
  // One scrape's positions, shared by the three gauges below.
  let positions: Promise<{ head: number; checkpoint: number; outbox: number }> | null = null;
  const read = () =>
    (positions ??= Promise.all([projectionLag(db), readCheckpoint(db.store, OUTBOX_SUBSCRIPTION)])
      .then(([p, outbox]) => ({ head: p.head, checkpoint: p.checkpoint, outbox }))
      .finally(() => setImmediate(() => (positions = null))));
  new Gauge({
    name: 'tandem_events_head_position',
    help: 'Global position of the newest event in the log (grows by one per event appended)',
    registers,
    async collect() {
      this.set((await read()).head);
    },
  });
  new Gauge({
    name: 'tandem_projection_lag_events',
    help: 'Events appended but not yet projected into the read models (head − read-model checkpoint)',
    registers,
    async collect() {
      const p = await read();
      this.set(Math.max(0, p.head - p.checkpoint));
    },
  });
  new Gauge({
    name: 'tandem_outbox_lag_events',
    help: 'Events appended but not yet published to JetStream (head − outbox checkpoint)',
    registers,
    async collect() {
      const p = await read();
      this.set(Math.max(0, p.head - p.outbox));
    },
  });
  new Gauge({
    name: 'tandem_nodes',
    help: 'Registered nodes by reachability (from telemetry silence) and their own health verdict',
    labelNames: ['reachable', 'health'],
    registers,
    async collect() {
      this.reset();
      const columns = await columnsOf(db, 'nodes');
      // The liveness columns arrive with a later migration: until then there is nothing true to report.
      if (!columns.has('reachable')) return;
      const health = columns.has('health') ? 'health' : `'unknown'`;
      const rows: { reachable: boolean; health: string | null; n: string }[] = await db.dataSource.query(
        `SELECT reachable, ${health} AS health, count(*) AS n FROM ${db.table('nodes')} GROUP BY 1, 2`,
      );
      for (const r of rows) this.set({ reachable: String(r.reachable), health: r.health ?? 'unknown' }, Number(r.n));
    },
  });
  new Gauge({
    name: 'tandem_alerts_active',
    help: 'Alerts raised and not cleared, by kind and severity',
    labelNames: ['kind', 'severity'],
    registers,
    async collect() {
      this.reset();
      if (!(await columnsOf(db, 'alerts')).has('active')) return;
      const rows: { kind: string; severity: string; n: string }[] = await db.dataSource.query(
        `SELECT kind, severity, count(*) AS n FROM ${db.table('alerts')} WHERE active GROUP BY 1, 2`,
      );
      for (const r of rows) this.set({ kind: r.kind, severity: r.severity }, Number(r.n));
    },
  });
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tandem_orchestrator_' });
  return registry;
}

async function columnsOf(db: OrchestratorDatabase, table: string): Promise<Set<string>> {
  const rows: { column_name: string }[] = await db.dataSource.query(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [db.schema, table],
  );
  return new Set(rows.map((r) => r.column_name));
}
