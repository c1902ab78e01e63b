/**
 * JetStream streams Tandem creates: declared here so the orchestrator and the node agents create them the same way
 * (file storage, a duplicate window for `Nats-Msg-Id`), whoever comes first.
 */
import type { JetStreamManager } from 'nats';
import { AGENT_REPORTS_STREAM_SUBJECTS, EVENTS_STREAM_SUBJECTS } from './subjects';

export interface StreamSpec {
  name: string;
  subjects: readonly string[];
  /** How long JetStream remembers a `Nats-Msg-Id` to drop a re-send. */
  duplicateWindowMs: number;
}

const NANOS_PER_MS = 1_000_000;

/** Creates the stream, or adds missing subjects and sets the duplicate window on an existing one. */
export async function ensureJetStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const duplicateWindow = spec.duplicateWindowMs * NANOS_PER_MS;
  const existing = await jsm.streams.info(spec.name).catch(() => undefined);
  if (!existing) {
    try {
      await jsm.streams.add({ name: spec.name, subjects: [...spec.subjects], storage: 'file' as never, duplicate_window: duplicateWindow });
      return;
    } catch (err) {
      // Created by another process at the same moment: fall through and check it.
      if (!(await jsm.streams.info(spec.name).catch(() => undefined))) throw err;
      return ensureJetStream(jsm, spec);
    }
  }
  const subjects = [...new Set([...(existing.config.subjects ?? []), ...spec.subjects])];
  if (subjects.length !== (existing.config.subjects ?? []).length || existing.config.duplicate_window !== duplicateWindow) {
    await jsm.streams.update(spec.name, { ...existing.config, subjects, duplicate_window: duplicateWindow });
  }
}

/** Reports may wait on a node for a long NATS outage; a day of dedupe covers a re-send after it. */
export const AGENT_REPORTS_DUPLICATE_WINDOW_MS = 24 * 3600_000;

const withPrefix = (prefix: string, subjects: readonly string[]) => subjects.map((s) => (prefix ? `${prefix}.${s}` : s));

/** The agents' reports stream (`TANDEM_AGENT_REPORTS` unless renamed), as agents and the orchestrator create it. */
export const agentReportsStreamSpec = (name: string, subjectPrefix: string): StreamSpec => ({
  name,
  subjects: withPrefix(subjectPrefix, AGENT_REPORTS_STREAM_SUBJECTS),
  duplicateWindowMs: AGENT_REPORTS_DUPLICATE_WINDOW_MS,
});

/** The committed-events stream (`TANDEM_EVENTS` unless renamed) the orchestrator's outbox publishes to. */
export const eventsStreamSpec = (name: string, subjectPrefix: string, duplicateWindowMs: number): StreamSpec => ({
  name,
  subjects: withPrefix(subjectPrefix, EVENTS_STREAM_SUBJECTS),
  duplicateWindowMs,
});
