/** Rules about where replicas may live, shared by the device use cases (checked before, and again under lock). */
import { conflict, notFound } from './commandRefused';
import type { GuardNode, GuardReader } from './guards';

/**
 * The node exists, belongs to the device's cluster, and has room for `sizeBytes` more (FLAT replicas are thick:
 * they take their full size). Pass `lock` inside the command transaction to hold the node row until commit.
 */
export async function ensureReplicaFits(
  guards: GuardReader,
  nodeId: string,
  clusterId: string,
  sizeBytes: number,
  options: { exceptDeviceId?: string; lock?: string; newPlacement?: boolean } = {},
): Promise<GuardNode> {
  const node = await guards.node(nodeId, options.lock);
  if (!node) throw notFound('node', nodeId);
  if (node.clusterId !== clusterId) throw conflict(`node ${node.name} (${nodeId}) is not a member of cluster ${clusterId}`);
  if (options.newPlacement && node.inMaintenance) throw conflict(`node ${node.name} (${nodeId}) is in maintenance; no new replicas go there`);
  const allocated = await guards.allocatedBytes(nodeId, options.exceptDeviceId);
  if (allocated + sizeBytes > node.capacityBytes) {
    throw conflict(
      `node ${node.name} (${nodeId}) has ${node.capacityBytes - allocated} bytes free of ${node.capacityBytes}; the replica needs ${sizeBytes}`,
    );
  }
  return node;
}

/** Version and build must be the same on every node of a cluster (the product supports no mixed clusters). */
export function ensureSameSoftware(node: { name: string; softwareVersion: string; build: string }, members: readonly GuardNode[], clusterId: string): void {
  const other = members.find((m) => m.softwareVersion !== node.softwareVersion || m.build !== node.build);
  if (other) {
    throw conflict(
      `node ${node.name} runs ${node.softwareVersion} (build ${node.build}) but cluster ${clusterId} runs ${other.softwareVersion} (build ${other.build}); one version across a cluster`,
    );
  }
}
