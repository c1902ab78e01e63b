import { buildRequest, checkStep, heartbeatSharesSyncLink, initialState, nodesWithSharedHeartbeat, parseAddresses, proposeCluster, proposeLinks, proposeReplicas, type ClusterChoice, type WizardState } from './wizardModel';

const node = (id: string, over: Partial<ClusterChoice['nodes'][number]> = {}) => ({ id, name: `node-${id}`, health: 'OK', reachable: true, inMaintenance: false, ...over });
const cluster = (id: string, nodes: ClusterChoice['nodes']): ClusterChoice => ({ id, name: `c-${id}`, haStrategy: 'HEARTBEAT', witness: null, nodes });

describe('proposals', () => {
  it('proposes the first cluster with two healthy nodes, and its first two healthy nodes with priorities in order', () => {
    const clusters = [cluster('1', [node('x'), node('y', { reachable: false })]), cluster('2', [node('a', { inMaintenance: true }), node('b'), node('c')])];
    const chosen = proposeCluster(clusters);
    expect(chosen?.id).toBe('2');
    expect(proposeReplicas(chosen, true)).toEqual([
      { nodeId: 'b', priority: '100' },
      { nodeId: 'c', priority: '90' },
      { nodeId: '', priority: '80' },
    ]);
    expect(proposeReplicas(chosen, false)).toEqual([{ nodeId: 'b', priority: '100' }]);
    expect(proposeReplicas(undefined, true).map((r) => r.nodeId)).toEqual(['', '', '']);
  });

  it("proposes the nodes' registered addresses without overwriting typed ones", () => {
    const links = proposeLinks({ b: { sync: 'typed:1', heartbeat: '' } }, [
      { id: 'b', syncAddresses: [{ host: '10.0.0.2', port: 3261 }], heartbeatAddresses: [] },
      { id: 'c', syncAddresses: [{ host: '10.0.0.3', port: 3261 }], heartbeatAddresses: [{ host: 'fd00::3', port: 3262 }] },
    ]);
    expect(links).toEqual({ b: { sync: 'typed:1', heartbeat: '' }, c: { sync: '10.0.0.3:3261', heartbeat: '[fd00::3]:3262' } });
  });
});

describe('addresses and the heartbeat warning', () => {
  it('reads host:port lists, IPv6 in brackets, and refuses the rest naming the field', () => {
    expect(parseAddresses(' 10.0.0.1:3261, [fd00::1]:7000 ', 'sync')).toEqual([{ host: '10.0.0.1', port: 3261 }, { host: 'fd00::1', port: 7000 }]);
    expect(parseAddresses('', 'sync')).toEqual([]);
    expect(() => parseAddresses('10.0.0.1', 'witness')).toThrow(/witness: cannot read "10.0.0.1"/);
    expect(() => parseAddresses('h:70000', 'sync')).toThrow(/cannot read/);
  });

  it('warns when every heartbeat address is on a sync host (the orchestrator’s rule)', () => {
    const sync = [{ host: '10.0.0.1', port: 3261 }];
    expect(heartbeatSharesSyncLink(sync, [{ host: '10.0.0.1', port: 3262 }])).toBe(true);
    expect(heartbeatSharesSyncLink(sync, [{ host: '10.0.0.1', port: 3262 }, { host: '10.1.0.1', port: 3262 }])).toBe(false);
    expect(heartbeatSharesSyncLink(sync, [])).toBe(false);
  });
});

function haState(): WizardState {
  return {
    ...initialState(),
    name: 'db',
    size: '1GiB',
    clusterId: 'c1',
    replicas: [
      { nodeId: 'a', priority: '100' },
      { nodeId: 'b', priority: '90' },
      { nodeId: '', priority: '80' },
    ],
    links: { a: { sync: '10.0.0.1:3261', heartbeat: '10.0.0.1:3262' }, b: { sync: '10.0.0.2:3261', heartbeat: '10.1.0.2:3262' } },
  };
}

describe('buildRequest', () => {
  it('builds createHaDevice from the form, leaving empty address lists to the API’s defaults', () => {
    const state = { ...haState(), links: { ...haState().links, b: { sync: '', heartbeat: '' } }, witness: '10.9.0.1:3263', initialSync: 'SYNC_FROM', syncFromNodeId: 'a' };
    expect(buildRequest(state)).toEqual({
      mutation: 'createHaDevice',
      input: {
        clusterId: 'c1', name: 'db', sizeBytes: 1024 ** 3, sectorSize: 512, storeKind: 'FLAT', cacheMode: 'WRITE_THROUGH', strategy: 'HEARTBEAT', initialSync: 'SYNC_FROM', syncFromNodeId: 'a',
        witness: [{ host: '10.9.0.1', port: 3263 }],
        replicas: [
          { nodeId: 'a', priority: 100, syncAddresses: [{ host: '10.0.0.1', port: 3261 }], heartbeatAddresses: [{ host: '10.0.0.1', port: 3262 }] },
          { nodeId: 'b', priority: 90 },
        ],
      },
    });
    expect(nodesWithSharedHeartbeat(haState())).toEqual(['a']);
  });

  it('builds createDevice with one replica when not HA', () => {
    expect(buildRequest({ ...haState(), ha: false, replicas: [{ nodeId: 'a', priority: '100' }] })).toEqual({
      mutation: 'createDevice',
      input: { clusterId: 'c1', name: 'db', sizeBytes: 1024 ** 3, sectorSize: 512, storeKind: 'FLAT', cacheMode: 'WRITE_THROUGH', replicas: [{ nodeId: 'a', priority: 100 }] },
    });
  });

  it('refuses at once only what it cannot put in a request', () => {
    expect(checkStep('basics', { ...haState(), size: 'lots' })).toMatch(/bad size "lots"/);
    expect(checkStep('basics', { ...haState(), name: '' })).toBeNull();
    expect(checkStep('availability', { ...haState(), replicas: [{ nodeId: 'a', priority: '100' }, { nodeId: '', priority: '90' }] })).toBe('choose node 2');
    expect(checkStep('availability', { ...haState(), replicas: [{ nodeId: 'a', priority: 'high' }, { nodeId: 'b', priority: '90' }] })).toMatch(/priority of node 1/);
    expect(checkStep('links', { ...haState(), witness: 'nowhere' })).toMatch(/witness: cannot read/);
    expect(checkStep('links', haState())).toBeNull();
  });
});
