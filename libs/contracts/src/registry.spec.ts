import { z } from 'zod';
import { defineCommand, defineEvent } from './contract';
import { ContractViolation } from './contractViolation';
import { ContractRegistry } from './registry';

const ThingRenamedV1 = defineEvent('ThingRenamed', 1, z.object({ id: z.string(), label: z.string() }).strict());
const ThingRenamedV2 = defineEvent('ThingRenamed', 2, z.object({ id: z.string(), name: z.string(), previousName: z.string() }).strict());
const ThingRenamedV3 = defineEvent('ThingRenamed', 3, z.object({ id: z.string(), name: z.string(), previousName: z.string().nullable() }).strict());
const RenameThing = defineCommand('RenameThing', 1, z.object({ id: z.string(), name: z.string().min(1) }).strict());

function registry() {
  return new ContractRegistry({
    events: [ThingRenamedV3],
    commands: [RenameThing],
    legacyEvents: [
      { contract: ThingRenamedV1, upcast: (d: { id: string; label: string }) => ({ id: d.id, name: d.label, previousName: '' }) },
      { contract: ThingRenamedV2, upcast: (d: { id: string; name: string; previousName: string }) => ({ ...d, previousName: d.previousName || null }) },
    ],
  });
}

describe('ContractRegistry', () => {
  it('parses the current version and returns typed data', () => {
    const data = registry().parseEvent('ThingRenamed', 3, { id: 'a', name: 'b', previousName: null });
    expect(data).toEqual({ id: 'a', name: 'b', previousName: null });
  });

  it('upcasts an old version through every step to the newest', () => {
    expect(registry().parseEvent('ThingRenamed', 1, { id: 'a', label: 'x' })).toEqual({ id: 'a', name: 'x', previousName: null });
  });

  it('lists every problem, with paths, in one ContractViolation', () => {
    const attempt = () => registry().parseEvent('ThingRenamed', 3, { id: 1, previousName: 5, extra: true });
    expect(attempt).toThrow(ContractViolation);
    try {
      attempt();
    } catch (error) {
      const violation = error as ContractViolation;
      expect(violation.contract).toBe('event ThingRenamed v3');
      expect(violation.problems.map((p) => p.path).sort()).toEqual(['(root)', 'id', 'name', 'previousName']);
      expect(violation.message).toMatch(/^event ThingRenamed v3: 4 problems: /);
    }
  });

  it('rejects unknown types and versions newer than it knows', () => {
    expect(() => registry().parseEvent('Nope' as 'ThingRenamed', 1, {})).toThrow(/unknown event type "Nope"/);
    expect(() => registry().parseEvent('ThingRenamed', 4, {})).toThrow(/unknown schema version 4; newest known is 3/);
  });

  it('validates an old payload against its own schema before upcasting', () => {
    expect(() => registry().parseEvent('ThingRenamed', 1, { id: 'a' })).toThrow(/event ThingRenamed v1: 1 problem: label: Required/);
  });

  it('refuses a legacy chain with a hole', () => {
    expect(
      () => new ContractRegistry({ events: [ThingRenamedV3], commands: [], legacyEvents: [{ contract: ThingRenamedV1, upcast: (d: unknown) => d }] }),
    ).toThrow(/no contract for v2/);
  });

  it('refuses duplicate declarations', () => {
    expect(() => new ContractRegistry({ events: [ThingRenamedV3, ThingRenamedV3], commands: [] })).toThrow(/declared twice/);
    expect(() => new ContractRegistry({ events: [], commands: [RenameThing, RenameThing] })).toThrow(/declared twice/);
  });

  it('exports upcasters in the event-store shape, validating their input', () => {
    const upcasters = registry().upcasters();
    expect(upcasters.map((u) => `${u.type}@${u.fromVersion}`).sort()).toEqual(['ThingRenamed@1', 'ThingRenamed@2']);
    const v1 = upcasters.find((u) => u.fromVersion === 1)!;
    expect(v1.upcast({ id: 'a', label: 'x' })).toEqual({ id: 'a', name: 'x', previousName: '' });
    expect(() => v1.upcast({ id: 'a' })).toThrow(ContractViolation);
  });

  it('parses commands only at their current version and finds them by subject', () => {
    const r = registry();
    expect(r.parseCommand('RenameThing', { id: 'a', name: 'n' })).toEqual({ id: 'a', name: 'n' });
    expect(() => r.parseCommand('RenameThing', { id: 'a', name: 'n' }, 2)).toThrow(/unsupported schema version 2/);
    expect(() => r.parseCommand('RenameThing', { id: 'a', name: '' })).toThrow(/name: /);
    expect(r.commandForSubject('tandem.cmd.thing.rename')?.type).toBe('RenameThing');
  });
});

describe('defineEvent / defineCommand', () => {
  it('derives aggregate, verb and subject from the type name', () => {
    expect(defineEvent('NodeMaintenanceEntered', 1, z.object({}))).toMatchObject({ aggregate: 'node', subject: 'tandem.evt.node.NodeMaintenanceEntered' });
    expect(defineCommand('AddNodeToCluster', 1, z.object({}))).toMatchObject({ aggregate: 'node', verb: 'add-to-cluster', subject: 'tandem.cmd.node.add-to-cluster' });
    expect(defineCommand('EnterNodeMaintenance', 1, z.object({}))).toMatchObject({ subject: 'tandem.cmd.node.enter-maintenance' });
  });

  it('refuses names that cannot make a subject and bad versions', () => {
    expect(() => defineEvent('created', 1, z.object({}))).toThrow(/PascalCase/);
    expect(() => defineEvent('Created', 1, z.object({}))).toThrow(/two words/);
    expect(() => defineEvent('SiteCreated', 0, z.object({}))).toThrow(/schema version/);
  });
});
