/** The device page's GraphQL documents (public API only) and the shapes of their answers. */

export type DeviceState = 'ONLINE' | 'DEGRADED' | 'RESYNCING' | 'BLOCKED' | 'SPLIT_BRAIN' | 'OFFLINE' | 'PENDING';

export interface AddressView {
  host: string;
  port: number;
}

export interface PartnerStatusView {
  nodeId: string;
  state: 'SYNCHRONIZED' | 'NOT_SYNCHRONIZED' | 'RESYNC_TO' | 'RESYNC_FROM' | 'SPLIT_BRAIN';
  reason: string | null;
  resyncKind: 'FAST' | 'FULL' | null;
  resyncDoneBytes: number | null;
  resyncTotalBytes: number | null;
}

export interface ReplicaView {
  nodeId: string;
  priority: number;
  state: 'ACTIVE' | 'MAINTENANCE';
  export: 'PENDING' | 'EXPORTED' | 'WITHDRAWN';
  targetName: string | null;
  lun: number | null;
  iscsiUrl: string | null;
  lastError: string | null;
  storeKind: string | null;
  /** Its RAM cache from its node's last telemetry (null before the first report, and in time travel). */
  cache: { dirtyBytes: number; flushSeconds: number | null; observedAt: string } | null;
  node: {
    id: string;
    name: string;
    portals: AddressView[];
    health: string | null;
    healthReasons: string[];
    reachable: boolean;
    inMaintenance: boolean;
  } | null;
  ha: {
    portGroup: number;
    accessState: string | null;
    paths: string;
    blocked: boolean;
    blockedReason: string | null;
    syncAddresses: AddressView[];
    heartbeatAddresses: AddressView[];
    partners: PartnerStatusView[];
  } | null;
}

export interface ResyncView {
  sourceNodeId: string;
  targetNodeId: string;
  kind: 'FAST' | 'FULL';
  doneBytes: number;
  totalBytes: number;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  startedAt: string | null;
  progressAt: string | null;
}

export interface DeviceView {
  id: string;
  name: string;
  state: DeviceState;
  sizeBytes: number;
  sectorSize: number;
  storeKind: string;
  cacheMode: string;
  replicaCount: number;
  synchronizedCopies: number;
  createdAt: string;
  updatedPosition: number;
  cluster: { id: string; name: string } | null;
  ha: { strategy: string; initialSync: string; syncFromNodeId: string | null; witness: AddressView[] } | null;
  health: {
    reasons: string[];
    blockedReasons: string[];
    splitBrainEvidence: string[];
    replicas: { nodeId: string; nodeName: string; serving: boolean; synchronized: boolean; reason: string | null }[];
    resyncs: ResyncView[];
  };
  replicas: ReplicaView[];
}

const ADDRESS = 'host port';

export const DEVICE_FIELDS = `
  id name state sizeBytes sectorSize storeKind cacheMode replicaCount synchronizedCopies createdAt updatedPosition
  cluster { id name }
  ha { strategy initialSync syncFromNodeId witness { ${ADDRESS} } }
  health {
    reasons blockedReasons splitBrainEvidence
    replicas { nodeId nodeName serving synchronized reason }
    resyncs { sourceNodeId targetNodeId kind doneBytes totalBytes bytesPerSecond etaSeconds startedAt progressAt }
  }
  replicas {
    nodeId priority state export targetName lun iscsiUrl lastError storeKind
    cache { dirtyBytes flushSeconds observedAt }
    node { id name portals { ${ADDRESS} } health healthReasons reachable inMaintenance }
    ha {
      portGroup accessState paths blocked blockedReason
      syncAddresses { ${ADDRESS} } heartbeatAddresses { ${ADDRESS} }
      partners { nodeId state reason resyncKind resyncDoneBytes resyncTotalBytes }
    }
  }`;

export const DEVICE_QUERY = `query DevicePage($id: ID!, $at: SafeInt) { device(id: $id, atPosition: $at) { ${DEVICE_FIELDS} } }`;

export interface DeviceAlertView {
  id: string;
  kind: string;
  severity: string;
  active: boolean;
  message: string;
  raisedAt: string;
  raisedPosition: number;
  clearedAt: string | null;
  clearedPosition: number | null;
  clearedMessage: string | null;
}

export interface NodeAlertView {
  id: string;
  kind: string;
  message: string;
  evidence: unknown;
  subject: { id: string; name: string };
}

/** Every alert about the device (timeline) and the active ShutdownTooLong ones (the replicas' nodes are picked out). Pages of 200 keep the query under the gateway's complexity limit. */
export const ALERTS_QUERY = `query DeviceAlerts($id: ID!) {
  deviceAlerts: alerts(subject: $id, first: 200) { edges { node { id kind severity active message raisedAt raisedPosition clearedAt clearedPosition clearedMessage } } }
  nodeAlerts: alerts(active: true, first: 200) { edges { node { id kind message evidence subject { id name } } } }
}`;

export interface AlertsAnswer {
  deviceAlerts: { edges: { node: DeviceAlertView }[] };
  nodeAlerts: { edges: { node: NodeAlertView }[] };
}

export interface EventView {
  globalPosition: number;
  type: string;
  streamId: string;
  recordedAt: string;
  data: unknown;
}

export const EVENTS_PAGE_SIZE = 500;

export const EVENTS_QUERY = `query DeviceEvents($streamId: String!, $after: String, $first: Int!) {
  events(streamId: $streamId, after: $after, first: $first) {
    edges { node { globalPosition type streamId recordedAt data } }
    pageInfo { endCursor hasNextPage }
  }
}`;

export interface EventsPage {
  events: { edges: { node: EventView }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
}

export const DEVICE_CHANGED = `subscription DeviceChanged($id: ID) {
  deviceChanged(deviceId: $id) { deviceId event { globalPosition type streamId recordedAt data } }
}`;

export interface DeviceChangedMessage {
  deviceChanged: { deviceId: string; event: EventView };
}

/** The typed errors every mutation payload carries (UserError union members). */
export const PAYLOAD_ERRORS = 'errors { __typename ... on UserError { code message } ... on InvalidInputError { problems { path message } } }';

export const RESIZE_DEVICE = `mutation ResizeDevice($input: ResizeDeviceInput!) { resizeDevice(input: $input) { globalPosition ${PAYLOAD_ERRORS} } }`;
export const DELETE_DEVICE = `mutation DeleteDevice($input: DeleteDeviceInput!) { deleteDevice(input: $input) { globalPosition ${PAYLOAD_ERRORS} } }`;
export const RESOLVE_SPLIT_BRAIN = `mutation ResolveSplitBrain($input: ResolveSplitBrainInput!) { resolveSplitBrain(input: $input) { globalPosition ${PAYLOAD_ERRORS} } }`;
