/**
 * The agent's own reports, durable before anyone hears of them: an append-only JSON-lines file (fsync per
 * append) and a small `acked` file with the highest sequence NATS acknowledged. Acknowledged entries are dropped
 * by rewriting the log (atomically) once everything in it is acknowledged, or when they pile up.
 */
import { randomUUID } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { agentReportSchema, type AgentReport } from '@tandem/contracts';
import { SerialQueue, writeFileAtomic } from '../state/atomicFile';

export const OUTBOX_FILE = 'outbox.jsonl';
export const OUTBOX_ACKED_FILE = 'outbox.acked';
const COMPACT_AFTER_ACKED = 256;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** What a caller records; the outbox stamps id, node, sequence and time. */
export type NewReport = DistributiveOmit<AgentReport, 'reportId' | 'nodeId' | 'sequence' | 'occurredAt'>;

export class FileOutbox {
  private readonly queue = new SerialQueue();
  private entries: AgentReport[] = [];
  private ackedInFile = 0;

  private constructor(
    private readonly file: string,
    private readonly ackedFile: string,
    private readonly nodeId: string,
    private acked: number,
    private nextSequence: number,
  ) {}

  static async open(dir: string, nodeId: string): Promise<FileOutbox> {
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, OUTBOX_FILE);
    const ackedFile = path.join(dir, OUTBOX_ACKED_FILE);
    const acked = Number((await fsp.readFile(ackedFile, 'utf8').catch(() => '0')).trim()) || 0;
    const text = await fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    const all: AgentReport[] = [];
    const lines = text.split('\n');
    let validBytes = 0;
    for (const [i, line] of lines.entries()) {
      if (line === '') continue;
      let parsed: AgentReport;
      try {
        parsed = agentReportSchema.parse(JSON.parse(line));
      } catch (err) {
        // Only the last line can be torn (a crash mid-append, never fsynced, never reported): cut it off.
        if (i >= lines.length - 2) break;
        throw new Error(`${file}: line ${i + 1} is not a report (${(err as Error).message}); the outbox is damaged`);
      }
      all.push(parsed);
      validBytes += Buffer.byteLength(line) + 1;
    }
    if (validBytes < Buffer.byteLength(text)) await fsp.truncate(file, validBytes);
    const outbox = new FileOutbox(file, ackedFile, nodeId, acked, Math.max(acked, all.at(-1)?.sequence ?? 0) + 1);
    outbox.entries = all.filter((r) => r.sequence > acked);
    outbox.ackedInFile = all.length - outbox.entries.length;
    return outbox;
  }

  /** Reports not acknowledged yet, oldest first. */
  pending(): readonly AgentReport[] {
    return this.entries;
  }

  /** Appends and fsyncs; resolves once the report is durable. Reports are numbered in append order. */
  append(report: NewReport, occurredAt = new Date()): Promise<AgentReport> {
    return this.queue.run(async () => {
      const full = agentReportSchema.parse({ ...report, reportId: randomUUID(), nodeId: this.nodeId, sequence: this.nextSequence, occurredAt: occurredAt.toISOString() });
      const handle = await fsp.open(this.file, 'a', 0o600);
      try {
        await handle.write(`${JSON.stringify(full)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.nextSequence++;
      this.entries.push(full);
      return full;
    });
  }

  /** NATS acknowledged every report up to `sequence`: forget them (durably). */
  ack(sequence: number): Promise<void> {
    return this.queue.run(async () => {
      if (sequence <= this.acked) return;
      await writeFileAtomic(this.ackedFile, `${sequence}\n`);
      this.acked = sequence;
      const before = this.entries.length;
      this.entries = this.entries.filter((r) => r.sequence > sequence);
      this.ackedInFile += before - this.entries.length;
      if (this.entries.length === 0 || this.ackedInFile >= COMPACT_AFTER_ACKED) {
        await writeFileAtomic(this.file, this.entries.map((r) => `${JSON.stringify(r)}\n`).join(''));
        this.ackedInFile = 0;
      }
    });
  }

  /** Resolves when every append and ack asked for so far is on disk. */
  async flush(): Promise<void> {
    await this.queue.idle();
  }
}
