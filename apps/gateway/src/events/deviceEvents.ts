/** Which device an event is about, if any: `deviceChanged` follows every event and keeps these. */
import { tandemContracts } from '@tandem/contracts';
import type { PublishedEvent } from '@tandem/orchestrator';

/** Aggregates whose events carry the device in `data.deviceId`: the device's own stream and its replicas' reports (streams `agent-<nodeId>`). */
const CARRY_DEVICE_ID = new Set(['device', 'replica']);

/** The device id of a device or replica event, or of an alert about a device; undefined for anything else. */
export function deviceIdOf(event: Pick<PublishedEvent, 'type' | 'data'>): string | undefined {
  if (!tandemContracts.isEventType(event.type)) return undefined;
  const aggregate = tandemContracts.eventContract(event.type).aggregate;
  const data = event.data as { deviceId?: unknown; subject?: { kind?: unknown; id?: unknown } };
  if (CARRY_DEVICE_ID.has(aggregate)) return typeof data.deviceId === 'string' ? data.deviceId : undefined;
  if (aggregate === 'alert' && data.subject?.kind === 'device' && typeof data.subject.id === 'string') return data.subject.id;
  return undefined;
}
