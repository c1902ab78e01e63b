/** The wizard's GraphQL documents: the clusters and nodes to choose from, the enums' values (from the API itself), and the two create mutations. */
import { PAYLOAD_ERRORS } from '../device/deviceQueries';
import type { PayloadError } from '../device/payloadErrors';
import type { ClusterChoice, NodeAddresses } from './wizardModel';

/** 50 clusters with their nodes stay under the gateway's complexity limit. */
export const CLUSTERS_QUERY = `query WizardClusters {
  clusters(first: 50) { edges { node { id name haStrategy witness { host port } nodes { id name health reachable inMaintenance } } } }
}`;

export interface ClustersAnswer {
  clusters: { edges: { node: ClusterChoice }[] };
}

export const NODE_ADDRESSES_QUERY = `query WizardNodeAddresses($clusterId: ID!) {
  storageNodes(clusterId: $clusterId, first: 50) { edges { node { id syncAddresses { host port } heartbeatAddresses { host port } } } }
}`;

export interface NodeAddressesAnswer {
  storageNodes: { edges: { node: NodeAddresses }[] };
}

export interface EnumType {
  description: string | null;
  enumValues: { name: string; description: string | null }[];
}

const enumType = (alias: string, name: string) => `${alias}: __type(name: "${name}") { description enumValues { name description } }`;

/** The closed sets the wizard offers, as the schema declares them. */
export const ENUMS_QUERY = `query WizardEnums {
  ${enumType('storeKind', 'StoreKind')}
  ${enumType('cacheMode', 'CacheMode')}
  ${enumType('haStrategy', 'HaStrategy')}
  ${enumType('initialSync', 'InitialSync')}
}`;

export interface EnumsAnswer {
  storeKind: EnumType | null;
  cacheMode: EnumType | null;
  haStrategy: EnumType | null;
  initialSync: EnumType | null;
}

export const CREATE_DEVICE = `mutation WizardCreateDevice($input: CreateDeviceInput!) { createDevice(input: $input) { aggregateId ${PAYLOAD_ERRORS} } }`;
export const CREATE_HA_DEVICE = `mutation WizardCreateHaDevice($input: CreateHaDeviceInput!) { createHaDevice(input: $input) { aggregateId ${PAYLOAD_ERRORS} } }`;

export type CreateAnswer = Record<string, { aggregateId: string | null; errors: PayloadError[] }>;
