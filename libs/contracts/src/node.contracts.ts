/** Nodes: storage servers running a node agent. They register themselves; the orchestrator places them in clusters. */
import { z } from 'zod';
import { defineCommand, defineEvent } from './contract';
import { addressSchema, buildSchema, byteCountSchema, idSchema, nameSchema, portalSchema, softwareVersionSchema } from './common';

const nodeRegistrationSchema = z
  .object({
    nodeId: idSchema,
    name: nameSchema,
    version: softwareVersionSchema,
    build: buildSchema,
    /** iSCSI portals initiators log in to. */
    portals: z.array(portalSchema).min(1, 'a node needs at least one iSCSI portal').max(16),
    /** Dedicated mirror links (several non-bonded links per partner are allowed). */
    syncAddresses: z.array(addressSchema).max(8).default([]),
    heartbeatAddresses: z.array(addressSchema).max(8).default([]),
    /** Bytes this node can give to device replicas. */
    capacityBytes: byteCountSchema,
  })
  .strict();

/** Re-registering (restart, upgrade) emits another NodeRegistered with the new facts. */
export const NodeRegistered = defineEvent('NodeRegistered', 1, nodeRegistrationSchema);
export const NodeAddedToCluster = defineEvent('NodeAddedToCluster', 1, z.object({ nodeId: idSchema, clusterId: idSchema }).strict());
export const NodeRemovedFromCluster = defineEvent('NodeRemovedFromCluster', 1, z.object({ nodeId: idSchema, clusterId: idSchema }).strict());
export const NodeMaintenanceEntered = defineEvent('NodeMaintenanceEntered', 1, z.object({ nodeId: idSchema, reason: z.string().max(512).optional() }).strict());
export const NodeMaintenanceExited = defineEvent('NodeMaintenanceExited', 1, z.object({ nodeId: idSchema }).strict());

export const RegisterNode = defineCommand('RegisterNode', 1, nodeRegistrationSchema);
export const AddNodeToCluster = defineCommand('AddNodeToCluster', 1, z.object({ nodeId: idSchema, clusterId: idSchema }).strict());
export const RemoveNodeFromCluster = defineCommand('RemoveNodeFromCluster', 1, z.object({ nodeId: idSchema, clusterId: idSchema }).strict());
export const EnterNodeMaintenance = defineCommand('EnterNodeMaintenance', 1, z.object({ nodeId: idSchema, reason: z.string().max(512).optional() }).strict());
export const ExitNodeMaintenance = defineCommand('ExitNodeMaintenance', 1, z.object({ nodeId: idSchema }).strict());

export const nodeEvents = [NodeRegistered, NodeAddedToCluster, NodeRemovedFromCluster, NodeMaintenanceEntered, NodeMaintenanceExited] as const;
export const nodeCommands = [RegisterNode, AddNodeToCluster, RemoveNodeFromCluster, EnterNodeMaintenance, ExitNodeMaintenance] as const;
