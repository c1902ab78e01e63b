/** Every resolver class of the GraphQL schema: the module provides them, and schema/sdl.ts prints the schema from them. */
import { AlertsResolver } from '../alerts/alerts.resolver';
import { CommandMutations } from '../commands/command.mutations';
import { EventsResolver } from '../events/events.resolver';
import { FleetQueries } from '../fleet/fleet.queries';
import { ClusterResolver, DeviceResolver, NodeResolver, ReplicaResolver, SiteResolver } from '../fleet/fleet.resolvers';
import { AlertConnection } from '../alerts/alert.models';
import { ClusterConnection, DeviceConnection, SiteConnection, StorageNodeConnection } from '../fleet/fleet.connections';
import { totalCountResolver } from '../relay/connection';
import { RelayNodeResolver } from '../relay/node.resolver';

const TOTAL_COUNTS = [SiteConnection, ClusterConnection, StorageNodeConnection, DeviceConnection, AlertConnection].map(totalCountResolver);

export const GATEWAY_RESOLVERS = [FleetQueries, SiteResolver, ClusterResolver, NodeResolver, DeviceResolver, ReplicaResolver, RelayNodeResolver, CommandMutations, EventsResolver, AlertsResolver, ...TOTAL_COUNTS];
