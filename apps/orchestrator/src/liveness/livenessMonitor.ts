/**
 * Node liveness from telemetry: every agent publishes on `tandem.telemetry.<nodeId>` about once a second. The
 * monitor keeps when it last heard each node (and its latest telemetry, for the alert rules and the views), and
 * after a silence of `lostAfterMs` records NodeUnreachable; telemetry heard again records NodeReachable. Having just
 * started, it judges no one for one silence period, so its own restart raises no false alarm.
 */
import { ALL_TELEMETRY_SUBJECT, livenessStreamId, nodeTelemetrySchema, parseSubject, type NodeTelemetry } from '@tandem/contracts';
import type { NatsConnection, Subscription } from 'nats';
import { appendTransition } from '../alerts/observationLog';
import { prefixed } from '../config';
import { NodeEntity, NodeLivenessEntity } from '../database/entities/readModel.entities';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';

export interface LivenessOptions {
  subjectPrefix: string;
  /** Silence after which a node is unreachable (default 5 s, `TANDEM_NODE_LOST_AFTER`). */
  lostAfterMs: number;
  /** How often silences are judged and last-seen times written (default a fifth of `lostAfterMs`, at most 1 s). */
  checkEveryMs?: number;
  now?: () => number;
  log?: (level: 'log' | 'warn' | 'error', message: string) => void;
}

export class LivenessMonitor {
  private subscription?: Subscription;
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private checking?: Promise<void>;
  private readonly heard = new Map<string, { at: number; telemetry: NodeTelemetry }>();
  private readonly unsaved = new Set<string>();
  private readonly firstKnown = new Map<string, number>();
  private readonly lastComplaint = new Map<string, number>();
  /** Telemetry messages accepted / refused as malformed or forged. */
  readonly counts = { accepted: 0, refused: 0, transitions: 0 };

  constructor(
    private readonly db: OrchestratorDatabase,
    private readonly nc: NatsConnection,
    private readonly options: LivenessOptions,
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  start(): void {
    this.startedAt = this.now();
    this.subscription = this.nc.subscribe(prefixed(this.options.subjectPrefix, ALL_TELEMETRY_SUBJECT), { callback: (err, msg) => !err && this.receive(msg.subject, msg.data) });
    const every = this.options.checkEveryMs ?? Math.min(1000, Math.max(50, Math.floor(this.options.lostAfterMs / 5)));
    this.timer = setInterval(() => {
      if (!this.checking) this.checking = this.check().catch((e) => this.log('warn', `liveness check failed: ${(e as Error).message}`)).finally(() => (this.checking = undefined));
    }, every);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
    await this.checking;
  }

  /** Nodes heard within the silence period, with their latest telemetry. */
  freshTelemetry(): Map<string, NodeTelemetry> {
    const now = this.now();
    return new Map([...this.heard].filter(([, h]) => now - h.at <= this.options.lostAfterMs).map(([id, h]) => [id, h.telemetry]));
  }

  lastSeen(): Map<string, number> {
    return new Map([...this.heard].map(([id, h]) => [id, h.at]));
  }

  /** Still in the first silence period after start: nobody is judged yet. */
  get warmingUp(): boolean {
    return this.now() - this.startedAt < this.options.lostAfterMs;
  }

  private log(level: 'log' | 'warn' | 'error', message: string): void {
    (this.options.log ?? ((l, m) => (l === 'log' ? undefined : console.warn(m))))(level, message);
  }

  receive(subject: string, data: Uint8Array): void {
    const bare = this.options.subjectPrefix && subject.startsWith(`${this.options.subjectPrefix}.`) ? subject.slice(this.options.subjectPrefix.length + 1) : subject;
    const parsedSubject = parseSubject(bare);
    const refuse = (why: string) => {
      this.counts.refused++;
      // A broken or hostile sender must not flood the log: one line per subject per minute.
      const last = this.lastComplaint.get(subject) ?? 0;
      if (this.now() - last > 60_000) {
        this.lastComplaint.set(subject, this.now());
        this.log('warn', `telemetry on ${subject} ignored: ${why}`);
      }
    };
    if (parsedSubject?.kind !== 'telemetry') return refuse('not a telemetry subject');
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(data));
    } catch {
      return refuse('not JSON');
    }
    const parsed = nodeTelemetrySchema.safeParse(body);
    if (!parsed.success) return refuse(parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    if (parsed.data.nodeId !== parsedSubject.nodeId) return refuse(`it names node ${parsed.data.nodeId}, not the subject's ${parsedSubject.nodeId}`);
    this.counts.accepted++;
    this.heard.set(parsed.data.nodeId, { at: this.now(), telemetry: parsed.data });
    this.unsaved.add(parsed.data.nodeId);
  }

  /** One round: save last-seen times, then judge every registered node (after the first silence period). */
  async check(): Promise<void> {
    const nodes = await this.db.dataSource.manager.find(NodeEntity, { select: { nodeId: true, reachable: true } });
    // Only registered nodes are kept: telemetry naming unknown ids (a forger, a node not yet registered) is dropped.
    const known = new Set(nodes.map((n) => n.nodeId));
    for (const id of this.heard.keys()) if (!known.has(id)) this.heard.delete(id);
    // A node registered since we started gets a full silence period from when we first saw it.
    for (const id of known) if (!this.firstKnown.has(id)) this.firstKnown.set(id, this.now());
    await this.saveLastSeen();
    if (this.warmingUp) return;
    const now = this.now();
    for (const node of nodes) {
      const heard = this.heard.get(node.nodeId);
      const silentFor = now - (heard?.at ?? Math.max(this.startedAt, this.firstKnown.get(node.nodeId) ?? this.startedAt));
      if (node.reachable && silentFor > this.options.lostAfterMs) {
        await this.transition(node.nodeId, 'NodeUnreachable', () => ({
          nodeId: node.nodeId,
          lastSeenAt: heard ? new Date(heard.at).toISOString() : null,
          silentForMs: Math.round(silentFor),
          afterMs: this.options.lostAfterMs,
        }));
      } else if (!node.reachable && heard && silentFor <= this.options.lostAfterMs) {
        await this.transition(node.nodeId, 'NodeReachable', () => ({ nodeId: node.nodeId, lastSeenAt: new Date(heard.at).toISOString() }));
      }
    }
  }

  private async transition(nodeId: string, type: 'NodeUnreachable' | 'NodeReachable', data: () => never | object): Promise<void> {
    const result = await appendTransition(this.db, {
      streamId: livenessStreamId(nodeId),
      type,
      // Reachable is the starting state: NodeUnreachable is due on an empty stream or after NodeReachable.
      dueAfter: type === 'NodeUnreachable' ? [null, 'NodeReachable'] : ['NodeUnreachable'],
      data: data as never,
      component: 'liveness',
    });
    if (result.written) {
      this.counts.transitions++;
      this.log('log', `node ${nodeId}: ${type}`);
    }
  }

  private async saveLastSeen(): Promise<void> {
    if (this.unsaved.size === 0) return;
    const rows = [...this.unsaved].filter((id) => this.heard.has(id)).map((id) => ({ nodeId: id, lastSeenAt: new Date(this.heard.get(id)!.at), telemetry: this.heard.get(id)!.telemetry }));
    this.unsaved.clear();
    if (rows.length > 0) await this.db.dataSource.manager.upsert(NodeLivenessEntity, rows, ['nodeId']);
  }
}
