// The fleet view's query and the subscriptions that make it live (any device, alert or storage node change refetches).
import type { LiveSubscription } from '../api/useLiveQuery';

export const FLEET = `query Fleet {
  sites(first: 100) {
    pageInfo { hasNextPage }
    edges { node { id name description
      clusters { id name haStrategy
        nodes { id name health reachable inMaintenance devices { id name state } }
        devices { id name state sizeBytes replicaCount synchronizedCopies replicas { nodeId node { name } } }
      }
    } }
  }
  storageNodes(first: 500) { edges { node { id name clusterId health reachable inMaintenance } } }
  alerts(active: true, first: 200) {
    totalCount
    edges { node { id kind severity message raisedAt subject { id kind name } } }
  }
}`;

export const FLEET_SUBSCRIPTIONS: LiveSubscription[] = [
  { query: 'subscription FleetDevices { deviceChanged { deviceId } }' },
  { query: 'subscription FleetAlerts { alertChanged { event { globalPosition } } }' },
  { query: 'subscription FleetNodes { storageNodeChanged { nodeId } }' },
];

export interface FleetNode {
  id: string;
  name: string;
  health: string | null;
  reachable: boolean;
  inMaintenance: boolean;
  devices: { id: string; name: string; state: string }[];
}

export interface FleetDevice {
  id: string;
  name: string;
  state: string;
  sizeBytes: number;
  replicaCount: number;
  synchronizedCopies: number;
  replicas: { nodeId: string; node: { name: string } | null }[];
}

export interface FleetCluster {
  id: string;
  name: string;
  haStrategy: string;
  nodes: FleetNode[];
  devices: FleetDevice[];
}

export interface FleetAlert {
  id: string;
  kind: string;
  severity: string;
  message: string;
  raisedAt: string;
  subject: { id: string; kind: string; name: string };
}

export interface FleetData {
  sites: { pageInfo: { hasNextPage: boolean }; edges: { node: { id: string; name: string; description: string | null; clusters: FleetCluster[] } }[] };
  storageNodes: { edges: { node: { id: string; name: string; clusterId: string | null; health: string | null; reachable: boolean; inMaintenance: boolean } }[] };
  alerts: { totalCount: number; edges: { node: FleetAlert }[] };
}
