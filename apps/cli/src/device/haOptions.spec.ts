// create-ha's flags to a CreateHaDeviceInput: node specs, default priorities, per-node links, enums, refusals.
import { CliError } from '../api/graphqlClient';
import { assignPriorities, buildHaInput, parseAddress, parseNodeSpec } from './haOptions';

const ids: Record<string, string> = { 'node-a': 'id-a', 'node-b': 'id-b', 'node-c': 'id-c' };
const resolve = (ref: string): string => {
  const id = ids[ref] ?? Object.values(ids).find((v) => v === ref);
  if (!id) throw new CliError(`no storage node with id or name "${ref}"`, 3);
  return id;
};
const base = { cluster: 'c1', name: 'sql', sizeBytes: 1 << 30 };

function exitCode(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return (err as CliError).exitCode;
  }
  return undefined;
}

describe('create-ha flags', () => {
  it('parses NODE[:PRIORITY] and HOST:PORT (IPv6 in brackets)', () => {
    expect(parseNodeSpec('node-a')).toEqual({ ref: 'node-a' });
    expect(parseNodeSpec('node-a:50')).toEqual({ ref: 'node-a', priority: 50 });
    expect(parseAddress('10.0.0.1:3261', '--sync')).toEqual({ host: '10.0.0.1', port: 3261 });
    expect(parseAddress('[fd00::1]:3261', '--sync')).toEqual({ host: 'fd00::1', port: 3261 });
    expect(exitCode(() => parseAddress('10.0.0.1', '--sync'))).toBe(2);
    expect(exitCode(() => parseAddress('h:70000', '--sync'))).toBe(2);
    expect(exitCode(() => parseNodeSpec('node-a:300'))).toBe(2);
  });

  it('proposes 100, 90, 80 in --node order and skips values already given', () => {
    expect(assignPriorities([{ ref: 'a' }, { ref: 'b' }])).toEqual([100, 90]);
    expect(assignPriorities([{ ref: 'a' }, { ref: 'b', priority: 100 }, { ref: 'c' }])).toEqual([90, 100, 80]);
    expect(exitCode(() => assignPriorities([{ ref: 'a', priority: 5 }, { ref: 'b', priority: 5 }]))).toBe(2);
    expect(exitCode(() => assignPriorities([{ ref: 'a' }]))).toBe(2);
    expect(exitCode(() => assignPriorities([{ ref: 'a' }, { ref: 'b' }, { ref: 'c' }, { ref: 'd' }]))).toBe(2);
  });

  it('builds the input with every field an administrator sets', () => {
    const input = buildHaInput(
      {
        ...base,
        node: ['node-a:200', 'node-b'],
        sync: ['node-a=10.1.0.1:3261,10.2.0.1:3261', 'id-b=10.1.0.2:3261'],
        heartbeat: ['node-b=192.168.0.2:3262'],
        paths: ['node-b=non-optimized'],
        replicaStore: ['node-a=lsfs'],
        strategy: 'node-majority',
        witness: ['10.9.0.1:3263'],
        store: 'flat',
        sector: '4096',
        cache: 'write-back',
        syncFrom: 'node-a',
      },
      'c1',
      ['id-a', 'id-b'],
      resolve,
    );
    expect(input).toEqual({
      clusterId: 'c1',
      name: 'sql',
      sizeBytes: 1 << 30,
      replicas: [
        { nodeId: 'id-a', priority: 200, syncAddresses: [{ host: '10.1.0.1', port: 3261 }, { host: '10.2.0.1', port: 3261 }], storeKind: 'LSFS' },
        { nodeId: 'id-b', priority: 100, syncAddresses: [{ host: '10.1.0.2', port: 3261 }], heartbeatAddresses: [{ host: '192.168.0.2', port: 3262 }], paths: 'NON_OPTIMIZED' },
      ],
      storeKind: 'FLAT',
      sectorSize: 4096,
      cacheMode: 'WRITE_BACK',
      strategy: 'NODE_MAJORITY',
      witness: [{ host: '10.9.0.1', port: 3263 }],
      initialSync: 'SYNC_FROM',
      syncFromNodeId: 'id-a',
    });
  });

  it('leaves the API its defaults when flags are absent', () => {
    expect(buildHaInput({ ...base, node: ['node-a', 'node-b'] }, 'c1', ['id-a', 'id-b'], resolve)).toEqual({
      clusterId: 'c1',
      name: 'sql',
      sizeBytes: 1 << 30,
      replicas: [
        { nodeId: 'id-a', priority: 100 },
        { nodeId: 'id-b', priority: 90 },
      ],
    });
  });

  it('refuses contradictions with exit 2', () => {
    const two = { ...base, node: ['node-a', 'node-b'] };
    expect(exitCode(() => buildHaInput({ ...two, sync: ['node-c=1.2.3.4:5'] }, 'c1', ['id-a', 'id-b'], resolve))).toBe(2);
    expect(exitCode(() => buildHaInput({ ...two, initialSync: 'sync-from' }, 'c1', ['id-a', 'id-b'], resolve))).toBe(2);
    expect(exitCode(() => buildHaInput({ ...two, initialSync: 'none', syncFrom: 'node-a' }, 'c1', ['id-a', 'id-b'], resolve))).toBe(2);
    expect(exitCode(() => buildHaInput({ ...base, node: ['node-a', 'id-a'] }, 'c1', ['id-a', 'id-a'], resolve))).toBe(2);
    expect(exitCode(() => buildHaInput({ ...two, cache: 'sometimes' }, 'c1', ['id-a', 'id-b'], resolve))).toBe(2);
    expect(exitCode(() => buildHaInput({ ...two, sync: ['node-a'] }, 'c1', ['id-a', 'id-b'], resolve))).toBe(2);
  });
});
