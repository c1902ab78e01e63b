/** How an agent report becomes an event of the node's stream: one event per report, with the report's id. */
import { agentReportSchema, agentStreamId, ContractViolation, parseSubject, type AgentReport, type TandemEvent } from '@tandem/contracts';
import type { NewEvent } from '@tandem/event-store';

/** The event a report records; its id is the report id, so a report delivered twice is recorded once. */
export function eventForReport(report: AgentReport): NewEvent & { type: TandemEvent['type'] } {
  const reported = { nodeId: report.nodeId, nodeSequence: report.sequence, occurredAt: report.occurredAt };
  const event = ((): TandemEvent => {
    switch (report.type) {
      case 'LunCreated':
        return { type: 'ReplicaExported', data: { ...reported, ...report.data } };
      case 'LunResized':
        return { type: 'ReplicaResized', data: { ...reported, ...report.data } };
      case 'LunDeleted':
        return { type: 'ReplicaWithdrawn', data: { ...reported, ...report.data } };
      case 'NodeHealthChanged':
        return { type: 'NodeHealthChanged', data: { ...reported, ...report.data } };
      case 'HaStateChanged': {
        const { type, ...rest } = report.data.event;
        return { type, data: { ...reported, deviceId: report.data.deviceId, ...rest } } as TandemEvent;
      }
    }
  })();
  return {
    id: report.reportId,
    type: event.type,
    schemaVersion: 1,
    data: event.data,
    metadata: {
      correlationId: report.correlationId ?? report.causationId ?? report.reportId,
      ...(report.causationId ? { causationId: report.causationId } : {}),
      actor: `node:${report.nodeId}`,
    },
  };
}

/**
 * Checks a message from the reports stream: JSON, the report contract, and a subject naming the same node as the
 * report (a node cannot speak for another). Throws a ContractViolation saying what is wrong.
 */
export function parseReportMessage(subject: string, subjectPrefix: string, data: Uint8Array): { report: AgentReport; streamId: string } {
  const bare = subjectPrefix && subject.startsWith(`${subjectPrefix}.`) ? subject.slice(subjectPrefix.length + 1) : subject;
  const parsedSubject = parseSubject(bare);
  const where = `report on ${subject}`;
  if (parsedSubject?.kind !== 'agent-report') throw new ContractViolation(where, [{ path: '(subject)', message: 'not an agent report subject' }]);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new ContractViolation(where, [{ path: '(root)', message: 'the report is not JSON' }]);
  }
  const parsed = agentReportSchema.safeParse(body);
  if (!parsed.success) throw ContractViolation.fromZodIssues(where, parsed.error.issues);
  if (parsed.data.nodeId !== parsedSubject.nodeId) {
    throw new ContractViolation(where, [{ path: 'nodeId', message: `the report names node ${parsed.data.nodeId} but was sent on node ${parsedSubject.nodeId}'s subject` }]);
  }
  return { report: parsed.data, streamId: agentStreamId(parsed.data.nodeId) };
}
