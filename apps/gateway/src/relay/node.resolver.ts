/** Relay's `node(id:)`: any site, cluster, storage node or device by its UUID (ids are UUIDs, unique across types). */
import { Args, Context, ID, Query, Resolver } from '@nestjs/graphql';
import type { GatewayContext } from '../context';
import { toCluster, toDevice, toNode, toSite } from '../fleet/fleet.models';
import { assertUuid } from '../fleet/fleet.queries';
import { RelayNode } from './node.interface';

@Resolver(() => RelayNode)
export class RelayNodeResolver {
  @Query(() => RelayNode, { nullable: true, description: 'The site, cluster, storage node or device with this id (Relay global lookup); null when none has it.' })
  async node(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<RelayNode | null> {
    assertUuid(id, 'id');
    const { loaders } = ctx;
    // The four loads batch with any other lookup of the request; a UUID names one object, the order only breaks a forged tie.
    const [device, node, cluster, site] = await Promise.all([loaders.device.load(id), loaders.node.load(id), loaders.cluster.load(id), loaders.site.load(id)]);
    if (device) return toDevice(device);
    if (node) return toNode(node);
    if (cluster) return toCluster(cluster);
    return site ? toSite(site) : null;
  }
}
