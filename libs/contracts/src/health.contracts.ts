/**
 * What the orchestrator observes about the fleet, recorded as events like any other: node liveness (from telemetry
 * silence) and alerts (a condition raised, then cleared). Streams: `liveness-<nodeId>` and one `alert-…` stream per
 * condition, so expected versions make raising and clearing idempotent across restarts and replays.
 */
import { z } from 'zod';
import { defineEvent } from './contract';
import { idSchema } from './common';

const instant = z.string().datetime({ offset: true });

export const livenessStreamId = (nodeId: string): string => `liveness-${nodeId}`;

/** The orchestrator has not heard the node for `silentForMs`: unreachable from the control plane, not necessarily down. */
export const NodeUnreachable = defineEvent(
  'NodeUnreachable',
  1,
  z.object({ nodeId: idSchema, lastSeenAt: instant.nullable(), silentForMs: z.number().int().min(0), afterMs: z.number().int().positive() }).strict(),
);
/** The node is heard again after a NodeUnreachable. */
export const NodeReachable = defineEvent('NodeReachable', 1, z.object({ nodeId: idSchema, lastSeenAt: instant }).strict());

export const alertKindSchema = z.enum([
  'NodeUnreachable',
  'DeviceDegraded',
  'DeviceOffline',
  'DeviceBlocked',
  'SplitBrain',
  'ResyncStalled',
  'SyncLatencyHigh',
  'SyncLinkDown',
  'HeartbeatSharesSyncLink',
  'ShutdownTooLong',
  'VersionMismatch',
  'CapacityLow',
]);
export type AlertKind = z.output<typeof alertKindSchema>;
export const alertSeveritySchema = z.enum(['critical', 'warning', 'info']);
export type AlertSeverity = z.output<typeof alertSeveritySchema>;

/** What an alert is about: a node, a device, a cluster, or the sync links from one node to another (`<nodeId>_<partnerNodeId>`). */
export const alertSubjectSchema = z
  .object({
    kind: z.enum(['node', 'device', 'cluster', 'link']),
    id: z.string().min(1).max(80).regex(/^[0-9A-Za-z_-]+$/, 'letters, digits, - and _'),
    /** Human name at the time (node, device or cluster name; `node-a > node-b` for a link). */
    name: z.string().max(200),
  })
  .strict();
export type AlertSubject = z.output<typeof alertSubjectSchema>;

/** Measured facts behind an alert (round trip, bytes, reasons): flat, small, JSON. */
export const alertEvidenceSchema = z.record(z.string().max(64), z.union([z.string().max(2048), z.number(), z.boolean(), z.null()])).refine((e) => Object.keys(e).length <= 32, 'at most 32 entries');

export const alertStreamId = (kind: AlertKind, subject: Pick<AlertSubject, 'kind' | 'id'>): string => `alert-${kind}-${subject.kind}-${subject.id}`;

export const AlertRaised = defineEvent(
  'AlertRaised',
  1,
  z
    .object({
      alertId: idSchema,
      kind: alertKindSchema,
      severity: alertSeveritySchema,
      subject: alertSubjectSchema,
      message: z.string().min(1).max(1024),
      evidence: alertEvidenceSchema,
      raisedAt: instant,
    })
    .strict(),
);
export const AlertCleared = defineEvent(
  'AlertCleared',
  1,
  z.object({ alertId: idSchema, kind: alertKindSchema, subject: alertSubjectSchema, message: z.string().min(1).max(1024), clearedAt: instant }).strict(),
);

export const healthEvents = [NodeUnreachable, NodeReachable, AlertRaised, AlertCleared] as const;
