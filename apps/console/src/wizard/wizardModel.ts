/**
 * The create-device wizard's model, free of React: its form state, the defaults it proposes (cluster, nodes,
 * priorities, sync/heartbeat addresses), the heartbeat-shares-sync-link check, and the mutation input it builds.
 * Client-side it checks only what it needs to build the request (a size, a priority, an address it can read);
 * everything else is the API's to refuse.
 */
import { parseSize } from '../device/sizeUnits';

export interface Address {
  host: string;
  port: number;
}

export interface ClusterChoice {
  id: string;
  name: string;
  haStrategy: string;
  witness: Address | null;
  nodes: { id: string; name: string; health: string | null; reachable: boolean; inMaintenance: boolean }[];
}

export interface NodeAddresses {
  id: string;
  syncAddresses: Address[];
  heartbeatAddresses: Address[];
}

export interface ReplicaChoice {
  /** '' = none chosen (only allowed for the optional third HA node). */
  nodeId: string;
  priority: string;
}

export interface WizardState {
  name: string;
  size: string;
  sectorSize: number;
  storeKind: string;
  cacheMode: string;
  ha: boolean;
  clusterId: string;
  replicas: ReplicaChoice[];
  /** Per node id: the comma-separated `host:port` lists typed (or proposed). */
  links: Record<string, { sync: string; heartbeat: string }>;
  strategy: string;
  witness: string;
  initialSync: string;
  syncFromNodeId: string;
}

export const SECTOR_SIZES = [512, 4096];

export function initialState(): WizardState {
  return {
    name: '',
    size: '',
    sectorSize: 512,
    storeKind: 'FLAT',
    cacheMode: 'WRITE_THROUGH',
    ha: true,
    clusterId: '',
    replicas: [],
    links: {},
    strategy: 'HEARTBEAT',
    witness: '',
    initialSync: 'CLEAR_BOTH',
    syncFromNodeId: '',
  };
}

export type StepId = 'basics' | 'availability' | 'links' | 'sync';

/** Seed 003's order: the device, its nodes and priorities, its links and arbitration, then the initial sync and a summary. */
export function stepsOf(ha: boolean): StepId[] {
  return ha ? ['basics', 'availability', 'links', 'sync'] : ['basics', 'availability', 'sync'];
}

const healthy = (n: ClusterChoice['nodes'][number]): boolean => n.reachable && !n.inMaintenance && (n.health === 'OK' || n.health === null);

/** The first cluster with two healthy nodes (a HA pair), else the first with one, else the first. */
export function proposeCluster(clusters: readonly ClusterChoice[]): ClusterChoice | undefined {
  return clusters.find((c) => c.nodes.filter(healthy).length >= 2) ?? clusters.find((c) => c.nodes.some(healthy)) ?? clusters[0];
}

/** Priorities proposed in the order the nodes are listed: the first node wins a split. */
export const proposedPriority = (index: number): number => 100 - 10 * index;

/** HA: the cluster's first two healthy nodes (then any others) and an empty optional third; single: its first healthy node. */
export function proposeReplicas(cluster: ClusterChoice | undefined, ha: boolean): ReplicaChoice[] {
  const nodes = cluster ? [...cluster.nodes.filter(healthy), ...cluster.nodes.filter((n) => !healthy(n))] : [];
  const proposed = Array.from({ length: ha ? 2 : 1 }, (_, i) => ({ nodeId: nodes[i]?.id ?? '', priority: String(proposedPriority(i)) }));
  return ha ? [...proposed, { nodeId: '', priority: String(proposedPriority(2)) }] : proposed;
}

const hostText = (host: string): string => (host.includes(':') ? `[${host}]` : host);
export const formatAddresses = (list: readonly Address[]): string => list.map((a) => `${hostText(a.host)}:${a.port}`).join(', ');

/** The node's registered sync and heartbeat addresses, proposed for nodes that have no typed ones yet. */
export function proposeLinks(current: WizardState['links'], nodes: readonly NodeAddresses[]): WizardState['links'] {
  const links = { ...current };
  for (const n of nodes) {
    if (!links[n.id]) links[n.id] = { sync: formatAddresses(n.syncAddresses), heartbeat: formatAddresses(n.heartbeatAddresses) };
  }
  return links;
}

/** `host:port, [v6]:port` → addresses; throws naming the field on anything it cannot read. */
export function parseAddresses(text: string, field: string): Address[] {
  const items = text.split(/[\s,]+/).filter((s) => s.length > 0);
  return items.map((item) => {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) throw new Error(`${field}: cannot read "${item}" as host:port (e.g. 10.0.0.1:3261, [fd00::1]:3261)`);
    return { host: m[1] ?? m[2], port };
  });
}

/** The orchestrator's HeartbeatSharesSyncLink rule: every heartbeat address is on a host the sync link uses. */
export function heartbeatSharesSyncLink(sync: readonly Address[], heartbeat: readonly Address[]): boolean {
  const syncHosts = new Set(sync.map((a) => a.host));
  return heartbeat.length > 0 && heartbeat.every((a) => syncHosts.has(a.host));
}

/** Node ids whose typed heartbeat runs over their sync link's hosts (unreadable text is ignored here). */
export function nodesWithSharedHeartbeat(state: WizardState): string[] {
  return chosenReplicas(state)
    .filter((r) => {
      const link = state.links[r.nodeId];
      if (!link) return false;
      try {
        return heartbeatSharesSyncLink(parseAddresses(link.sync, 'sync'), parseAddresses(link.heartbeat, 'heartbeat'));
      } catch {
        return false;
      }
    })
    .map((r) => r.nodeId);
}

export const chosenReplicas = (state: WizardState): ReplicaChoice[] => state.replicas.filter((r) => r.nodeId !== '');

function priorityOf(text: string, index: number): number {
  if (!/^\s*-?\d+\s*$/.test(text)) throw new Error(`priority of node ${index + 1}: "${text}" is not a whole number`);
  return Number(text);
}

export type CreateRequest =
  | { mutation: 'createDevice'; input: Record<string, unknown> }
  | { mutation: 'createHaDevice'; input: Record<string, unknown> };

/** The mutation and its input from the form; throws with a message when something cannot be put in the request. */
export function buildRequest(state: WizardState): CreateRequest {
  const sizeBytes = parseSize(state.size);
  const common = {
    clusterId: state.clusterId,
    name: state.name,
    sizeBytes,
    sectorSize: state.sectorSize,
    storeKind: state.storeKind,
    cacheMode: state.cacheMode,
  };
  const replicas = chosenReplicas(state);
  if (!state.ha) {
    return { mutation: 'createDevice', input: { ...common, replicas: replicas.slice(0, 1).map((r, i) => ({ nodeId: r.nodeId, priority: priorityOf(r.priority, i) })) } };
  }
  const haReplicas = replicas.map((r, i) => {
    const link = state.links[r.nodeId];
    const replica: Record<string, unknown> = { nodeId: r.nodeId, priority: priorityOf(r.priority, i) };
    if (link) {
      const sync = parseAddresses(link.sync, `sync addresses of node ${i + 1}`);
      const heartbeat = parseAddresses(link.heartbeat, `heartbeat addresses of node ${i + 1}`);
      // Empty: the node's registered ones (the API's default).
      if (sync.length > 0) replica.syncAddresses = sync;
      if (heartbeat.length > 0) replica.heartbeatAddresses = heartbeat;
    }
    return replica;
  });
  const input: Record<string, unknown> = { ...common, replicas: haReplicas, strategy: state.strategy, initialSync: state.initialSync };
  const witness = parseAddresses(state.witness, 'witness');
  if (witness.length > 0) input.witness = witness;
  if (state.initialSync === 'SYNC_FROM' && state.syncFromNodeId) input.syncFromNodeId = state.syncFromNodeId;
  return { mutation: 'createHaDevice', input };
}

/** What a step needs before the next one can use it (only what the request cannot be built without); null when fine. */
export function checkStep(step: StepId, state: WizardState): string | null {
  try {
    if (step === 'basics') parseSize(state.size);
    if (step === 'availability') {
      if (!state.clusterId) return 'choose a cluster';
      const required = state.ha ? 2 : 1;
      for (let i = 0; i < required; i++) if (!state.replicas[i]?.nodeId) return `choose node ${i + 1}`;
      chosenReplicas(state).forEach((r, i) => priorityOf(r.priority, i));
    }
    if (step === 'links') buildRequest(state);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
