/**
 * Every second: the alert rules over the read models, node liveness and fresh telemetry; a condition that holds
 * and has no active alert is raised (AlertRaised), an active alert whose condition no longer holds is cleared
 * (AlertCleared). Alerts judged from telemetry are left as they are while their node is not heard.
 */
import { alertStreamId, type AlertKind, type AlertSubject } from '@tandem/contracts';
import { AlertEntity, ClusterEntity, DeviceEntity, NodeEntity, type AlertRow } from '../database/entities/readModel.entities';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import type { LivenessMonitor } from '../liveness/livenessMonitor';
import { canJudge, conditionKey, DEFAULT_THRESHOLDS, evaluateAlerts, HOLD_MS, type AlertThresholds, type Condition } from './alertRules';
import { appendTransition } from './observationLog';

export interface AlertEvaluatorOptions {
  everyMs?: number;
  thresholds?: AlertThresholds;
  now?: () => number;
  log?: (level: 'log' | 'warn' | 'error', message: string) => void;
}

export class AlertEvaluator {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  readonly counts = { raised: 0, cleared: 0 };
  /** Conditions seen but not raised yet, since when (see HOLD_MS). */
  private readonly holdingSince = new Map<string, number>();

  constructor(
    private readonly db: OrchestratorDatabase,
    private readonly liveness: LivenessMonitor,
    private readonly options: AlertEvaluatorOptions = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.evaluate().catch((e) => this.log('warn', `alert evaluation failed: ${(e as Error).message}`)).finally(() => (this.running = undefined));
    }, this.options.everyMs ?? 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private log(level: 'log' | 'warn' | 'error', message: string): void {
    (this.options.log ?? ((l, m) => (l === 'log' ? undefined : console.warn(m))))(level, message);
  }

  /** One round; returns what it wrote. Nothing is judged while liveness is still warming up after a start. */
  async evaluate(): Promise<{ raised: number; cleared: number }> {
    const done = { raised: 0, cleared: 0 };
    if (this.liveness.warmingUp) return done;
    const m = this.db.dataSource.manager;
    const [nodes, devices, clusters, active] = await Promise.all([m.find(NodeEntity), m.find(DeviceEntity), m.find(ClusterEntity), m.find(AlertEntity, { where: { active: true } })]);
    const activeByKey = new Map(active.map((a) => [conditionKey(a.kind, { kind: a.subjectKind as AlertSubject['kind'], id: a.subjectId }), a]));
    const now = (this.options.now ?? Date.now)();
    const facts = { nodes, devices, clusters, telemetry: this.liveness.freshTelemetry(), lastSeen: this.liveness.lastSeen(), active: new Set(activeByKey.keys()), now };
    const wanted = new Map(evaluateAlerts(facts, this.options.thresholds ?? DEFAULT_THRESHOLDS).map((c) => [conditionKey(c.kind, c.subject), c]));
    for (const key of this.holdingSince.keys()) if (!wanted.has(key) || activeByKey.has(key)) this.holdingSince.delete(key);
    for (const [key, condition] of wanted) {
      if (activeByKey.has(key)) continue;
      const since = this.holdingSince.get(key) ?? now;
      this.holdingSince.set(key, since);
      if (now - since >= (HOLD_MS[condition.kind] ?? 0) && (await this.raise(condition, now))) done.raised++;
    }
    for (const [key, alert] of activeByKey) {
      const subject = { kind: alert.subjectKind as AlertSubject['kind'], id: alert.subjectId };
      if (!wanted.has(key) && canJudge(facts, alert.kind, subject) && (await this.clear(alert, now))) done.cleared++;
    }
    this.counts.raised += done.raised;
    this.counts.cleared += done.cleared;
    return done;
  }

  private async raise(c: Condition, now: number): Promise<boolean> {
    const result = await appendTransition(this.db, {
      streamId: alertStreamId(c.kind, c.subject),
      type: 'AlertRaised',
      dueAfter: [null, 'AlertCleared'],
      data: (alertId) => ({ alertId, kind: c.kind, severity: c.severity, subject: c.subject, message: c.message, evidence: c.evidence, raisedAt: new Date(now).toISOString() }),
      component: 'alerts',
    });
    if (result.written) this.log('log', `alert raised: ${c.kind} ${c.subject.name}: ${c.message}`);
    return result.written;
  }

  private async clear(alert: AlertRow, now: number): Promise<boolean> {
    const subject: AlertSubject = { kind: alert.subjectKind as AlertSubject['kind'], id: alert.subjectId, name: alert.subjectName };
    const kind = alert.kind as AlertKind;
    const result = await appendTransition(this.db, {
      streamId: alertStreamId(kind, subject),
      type: 'AlertCleared',
      dueAfter: ['AlertRaised'],
      data: (_id, last) => ({
        alertId: (last?.data as { alertId?: string } | undefined)?.alertId ?? alert.alertId,
        kind,
        subject,
        message: `${kind} on ${subject.name} no longer holds`,
        clearedAt: new Date(now).toISOString(),
      }),
      component: 'alerts',
    });
    if (result.written) this.log('log', `alert cleared: ${kind} ${subject.name}`);
    return result.written;
  }
}
