// The node view's query, its live subscriptions and the maintenance mutations.
import type { LiveSubscription } from '../api/useLiveQuery';

export const NODE = `query NodeView($id: ID!) {
  storageNode(id: $id) {
    id name build softwareVersion state capacityBytes allocatedBytes
    health healthReasons reachable reachabilityChangedAt lastSeenAt
    inMaintenance maintenanceReason
    portals { host port } syncAddresses { host port } heartbeatAddresses { host port }
    syncLinks { partnerNodeId linksUp linksConfigured rttMicros devices observedAt }
    cluster { id name nodes { id name } }
    devices { id name state sizeBytes
      replicas { nodeId priority ha { syncAddresses { host port } heartbeatAddresses { host port }
        partners { nodeId state reason } } } }
  }
  alerts(active: true, subject: $id, first: 100) {
    totalCount
    edges { node { id kind severity message evidence raisedAt subject { id kind name } } }
  }
}`;

export const nodeSubscriptions = (id: string): LiveSubscription[] => [
  { query: 'subscription NodeChanged($id: ID) { storageNodeChanged(nodeId: $id) { nodeId } }', variables: { id } },
  { query: 'subscription NodeDevices { deviceChanged { deviceId } }' },
  { query: 'subscription NodeAlerts { alertChanged { event { globalPosition } } }' },
];

const PAYLOAD = `errors { __typename ... on UserError { code message } ... on InvalidInputError { problems { path message } } }
  node { id inMaintenance maintenanceReason }`;

export const ENTER_MAINTENANCE = `mutation EnterMaintenance($input: EnterMaintenanceInput!) { enterMaintenance(input: $input) { ${PAYLOAD} } }`;
export const EXIT_MAINTENANCE = `mutation ExitMaintenance($input: ExitMaintenanceInput!) { exitMaintenance(input: $input) { ${PAYLOAD} } }`;

export interface Address {
  host: string;
  port: number;
}

export interface MaintenancePayload {
  errors: { __typename: string; code: string; message: string; problems?: { path: string; message: string }[] }[];
  node: { id: string; inMaintenance: boolean; maintenanceReason: string | null } | null;
}

/** The node's sync links to one partner, from its last telemetry. */
export interface SyncLink {
  partnerNodeId: string;
  linksUp: number;
  linksConfigured: number;
  rttMicros: number | null;
  devices: number;
  observedAt: string;
}

export interface NodeReplica {
  nodeId: string;
  priority: number;
  ha: { syncAddresses: Address[]; heartbeatAddresses: Address[]; partners: { nodeId: string; state: string; reason: string | null }[] } | null;
}

export interface NodeData {
  storageNode: {
    id: string;
    name: string;
    build: string;
    softwareVersion: string;
    state: string;
    capacityBytes: number;
    allocatedBytes: number;
    health: string | null;
    healthReasons: string[];
    reachable: boolean;
    reachabilityChangedAt: string | null;
    lastSeenAt: string | null;
    inMaintenance: boolean;
    maintenanceReason: string | null;
    portals: Address[];
    syncAddresses: Address[];
    heartbeatAddresses: Address[];
    syncLinks: SyncLink[];
    cluster: { id: string; name: string; nodes: { id: string; name: string }[] } | null;
    devices: { id: string; name: string; state: string; sizeBytes: number; replicas: NodeReplica[] }[];
  } | null;
  alerts: {
    totalCount: number;
    edges: { node: { id: string; kind: string; severity: string; message: string; evidence: unknown; raisedAt: string; subject: { id: string; kind: string; name: string } } }[];
  };
}
