/**
 * Every NATS subject Tandem uses, built in one place. Tokens are validated so an id can never smuggle in a
 * `.`, `*` or `>` and widen a subscription.
 */
export const SUBJECT_ROOT = 'tandem';

/** JetStream stream that the outbox publishes every committed event to. */
export const EVENTS_STREAM = 'TANDEM_EVENTS';
/** Subjects captured by {@link EVENTS_STREAM}. */
export const EVENTS_STREAM_SUBJECTS = [`${SUBJECT_ROOT}.evt.>`] as const;

const TOKEN = /^[A-Za-z0-9_-]+$/;

export function assertSubjectToken(token: string, what: string): string {
  if (!TOKEN.test(token)) {
    throw new Error(`${what} ${JSON.stringify(token)} cannot be a NATS subject token (letters, digits, "_" and "-" only)`);
  }
  return token;
}

/** Orchestrator command, request-reply: `tandem.cmd.<aggregate>.<verb>`. */
export const commandSubject = (aggregate: string, verb: string): string =>
  `${SUBJECT_ROOT}.cmd.${assertSubjectToken(aggregate, 'aggregate')}.${assertSubjectToken(verb, 'verb')}`;

/** Committed event, published from the outbox: `tandem.evt.<aggregate>.<EventType>`. */
export const eventSubject = (aggregate: string, eventType: string): string =>
  `${SUBJECT_ROOT}.evt.${assertSubjectToken(aggregate, 'aggregate')}.${assertSubjectToken(eventType, 'event type')}`;

/** Every event of one aggregate kind (`tandem.evt.device.>`), or all events. */
export const eventsOfAggregateSubject = (aggregate?: string): string =>
  aggregate === undefined ? `${SUBJECT_ROOT}.evt.>` : `${SUBJECT_ROOT}.evt.${assertSubjectToken(aggregate, 'aggregate')}.>`;

/** Orchestrator → one node agent (apply/remove a device on its live target): `tandem.agent.<nodeId>.cmd.<verb>`. */
export const agentCommandSubject = (nodeId: string, verb: string): string =>
  `${SUBJECT_ROOT}.agent.${assertSubjectToken(nodeId, 'node id')}.cmd.${assertSubjectToken(verb, 'verb')}`;

/** Node agent → orchestrator facts (what the node did on its own, from its local outbox): `tandem.agent.<nodeId>.report`. */
export const agentReportSubject = (nodeId: string): string => `${SUBJECT_ROOT}.agent.${assertSubjectToken(nodeId, 'node id')}.report`;

/** Periodic health and per-device telemetry (not events, not stored in the log): `tandem.telemetry.<nodeId>`. */
export const telemetrySubject = (nodeId: string): string => `${SUBJECT_ROOT}.telemetry.${assertSubjectToken(nodeId, 'node id')}`;
export const ALL_TELEMETRY_SUBJECT = `${SUBJECT_ROOT}.telemetry.*`;

export type ParsedSubject =
  | { kind: 'command'; aggregate: string; verb: string }
  | { kind: 'event'; aggregate: string; eventType: string }
  | { kind: 'agent-command'; nodeId: string; verb: string }
  | { kind: 'agent-report'; nodeId: string }
  | { kind: 'agent-desired-devices'; nodeId: string }
  | { kind: 'telemetry'; nodeId: string };

/** The inverse of the builders above; `undefined` for a subject Tandem does not use. */
export function parseSubject(subject: string): ParsedSubject | undefined {
  const tokens = subject.split('.');
  if (tokens[0] !== SUBJECT_ROOT || tokens.some((t) => !TOKEN.test(t))) return undefined;
  const [, family, a, b, c] = tokens;
  if (family === 'cmd' && tokens.length === 4) return { kind: 'command', aggregate: a, verb: b };
  if (family === 'evt' && tokens.length === 4) return { kind: 'event', aggregate: a, eventType: b };
  if (family === 'agent' && tokens.length === 5 && b === 'cmd') return { kind: 'agent-command', nodeId: a, verb: c };
  if (family === 'agent' && tokens.length === 4 && b === 'report') return { kind: 'agent-report', nodeId: a };
  if (family === 'agent' && tokens.length === 4 && b === 'desired-devices') return { kind: 'agent-desired-devices', nodeId: a };
  if (family === 'telemetry' && tokens.length === 3) return { kind: 'telemetry', nodeId: a };
  return undefined;
}

/** Every node's desired-devices requests (the orchestrator answers them all). */
export const ALL_AGENT_DESIRED_DEVICES_SUBJECT = `${SUBJECT_ROOT}.agent.*.desired-devices`;
/** Every agent command verb of one node (what a node agent, or a test playing one, listens to). */
export const agentCommandsOfNodeSubject = (nodeId: string): string => `${SUBJECT_ROOT}.agent.${assertSubjectToken(nodeId, 'node id')}.cmd.*`;

/** JetStream stream the node agents' outbox forwarders publish their reports to (deduplicated by report id). */
export const AGENT_REPORTS_STREAM = 'TANDEM_AGENT_REPORTS';
/** Subjects captured by {@link AGENT_REPORTS_STREAM}. */
export const AGENT_REPORTS_STREAM_SUBJECTS = [`${SUBJECT_ROOT}.agent.*.report`] as const;

/**
 * Node agent → orchestrator, request/reply: "which devices should I serve?", asked on (re)connect so the agent
 * converges on the desired set: `tandem.agent.<nodeId>.desired-devices`.
 */
export const agentDesiredDevicesSubject = (nodeId: string): string =>
  `${SUBJECT_ROOT}.agent.${assertSubjectToken(nodeId, 'node id')}.desired-devices`;
