/** GraphQL types for alerts: raised and cleared by the orchestrator as events, projected into the `alerts` table. */
import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { alertKindSchema } from '@tandem/contracts';
import type { AlertRow } from '@tandem/orchestrator';
import { JsonScalar, SafeIntScalar } from '../scalars/scalars';
import { Event } from '../events/event.models';
import { ConnectionType } from '../relay/connection';

export enum AlertSeverity {
  CRITICAL = 'critical',
  WARNING = 'warning',
  INFO = 'info',
}
registerEnumType(AlertSeverity, { name: 'AlertSeverity' });

export enum AlertSubjectKind {
  NODE = 'node',
  DEVICE = 'device',
  CLUSTER = 'cluster',
  LINK = 'link',
}
registerEnumType(AlertSubjectKind, { name: 'AlertSubjectKind' });

/** Spelled as the contracts, the events and the metrics' `kind` label spell them (one name everywhere), not SCREAMING_CASE. */
export const AlertKind = Object.fromEntries(alertKindSchema.options.map((kind) => [kind, kind])) as { [K in (typeof alertKindSchema.options)[number]]: K };
export type AlertKind = (typeof alertKindSchema.options)[number];
registerEnumType(AlertKind, { name: 'AlertKind', description: 'What condition an alert reports (docs/operations.md, Fleet health and alerts).' });

@ObjectType({ description: 'What an alert is about. A link is the sync links from one node to another: id `<nodeId>_<partnerNodeId>`.' })
export class AlertSubjectView {
  @Field(() => AlertSubjectKind) kind!: AlertSubjectKind;
  @Field(() => ID) id!: string;
  @Field() name!: string;
}

@ObjectType({ description: 'A condition the orchestrator raised (AlertRaised) and, once it no longer holds, cleared (AlertCleared).' })
export class Alert {
  @Field(() => ID) id!: string;
  @Field(() => AlertKind) kind!: AlertKind;
  @Field(() => AlertSeverity) severity!: AlertSeverity;
  @Field(() => AlertSubjectView) subject!: AlertSubjectView;
  @Field() message!: string;
  @Field(() => JsonScalar, { description: 'Measured facts behind it (round trip, bytes, each replica’s reason).' }) evidence!: unknown;
  @Field() active!: boolean;
  @Field() raisedAt!: Date;
  @Field(() => SafeIntScalar) raisedPosition!: number;
  @Field(() => Date, { nullable: true }) clearedAt!: Date | null;
  @Field(() => String, { nullable: true }) clearedMessage!: string | null;
  @Field(() => SafeIntScalar, { nullable: true }) clearedPosition!: number | null;
}

@ObjectType({ description: 'An alert raised or cleared, with the alert as the read models hold it after the event.' })
export class AlertChange {
  @Field(() => Event) event!: Event;
  @Field(() => Alert, { nullable: true }) alert!: Alert | null;
}

@ObjectType({ description: 'Alerts, newest first (by the position of their AlertRaised).' })
export class AlertConnection extends ConnectionType(Alert, 'Alert') {}

export const toAlert = (row: AlertRow): Alert => ({
  ...row,
  kind: row.kind as AlertKind,
  id: row.alertId,
  severity: row.severity as AlertSeverity,
  subject: { kind: row.subjectKind as AlertSubjectKind, id: row.subjectId, name: row.subjectName },
});
