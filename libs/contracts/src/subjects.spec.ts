import { agentCommandSubject, agentDesiredDevicesSubject, agentReportSubject, commandSubject, eventSubject, eventsOfAggregateSubject, parseSubject, telemetrySubject } from './subjects';

describe('subjects', () => {
  it('builds and parses every family', () => {
    const nodeId = '0b7c6f9e-4a43-4d55-9b8e-0e2a1c3f5d71';
    const cases = [
      [commandSubject('site', 'create'), { kind: 'command', aggregate: 'site', verb: 'create' }],
      [eventSubject('device', 'DeviceCreated'), { kind: 'event', aggregate: 'device', eventType: 'DeviceCreated' }],
      [agentCommandSubject(nodeId, 'apply-device'), { kind: 'agent-command', nodeId, verb: 'apply-device' }],
      [agentReportSubject(nodeId), { kind: 'agent-report', nodeId }],
      [agentDesiredDevicesSubject(nodeId), { kind: 'agent-desired-devices', nodeId }],
      [telemetrySubject(nodeId), { kind: 'telemetry', nodeId }],
    ] as const;
    for (const [subject, parsed] of cases) expect(parseSubject(subject)).toEqual(parsed);
    expect(eventsOfAggregateSubject('device')).toBe('tandem.evt.device.>');
    expect(eventsOfAggregateSubject()).toBe('tandem.evt.>');
  });

  it('refuses tokens that would widen a subscription', () => {
    expect(() => telemetrySubject('a.b')).toThrow(/cannot be a NATS subject token/);
    expect(() => commandSubject('site', '>')).toThrow();
    expect(() => eventSubject('*', 'X')).toThrow();
    expect(parseSubject('tandem.cmd.site')).toBeUndefined();
    expect(parseSubject('other.cmd.site.create')).toBeUndefined();
  });
});
