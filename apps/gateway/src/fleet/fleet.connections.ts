/** The fleet's Relay connection types (sites, clusters, storage nodes, devices) and the cursor kinds they page with. */
import { ObjectType } from '@nestjs/graphql';
import { ConnectionType } from '../relay/connection';
import { Cluster, Device, Site, StorageNode } from './fleet.models';

@ObjectType({ description: 'Sites in (name, id) order.' })
export class SiteConnection extends ConnectionType(Site, 'Site') {}

@ObjectType({ description: 'Clusters in (name, id) order.' })
export class ClusterConnection extends ConnectionType(Cluster, 'Cluster') {}

@ObjectType({ description: 'Storage nodes in (name, id) order.' })
export class StorageNodeConnection extends ConnectionType(StorageNode, 'StorageNode') {}

@ObjectType({ description: 'Devices in (name, id) order.' })
export class DeviceConnection extends ConnectionType(Device, 'Device') {}

/** Largest `first` of a fleet list. */
export const MAX_FLEET_PAGE = 500;
export const DEFAULT_FLEET_PAGE = 100;
