/** Clusters: nodes of one site that mirror devices between them; one software version across the cluster. */
import { z } from 'zod';
import { defineCommand, defineEvent } from './contract';
import { haStrategySchema, hostSchema, idSchema, nameSchema, portSchema } from './common';

/** Optional tie-breaker for the node-majority strategy. */
const witnessSchema = z.object({ host: hostSchema, port: portSchema }).strict();

export const ClusterCreated = defineEvent(
  'ClusterCreated',
  1,
  z.object({ clusterId: idSchema, siteId: idSchema, name: nameSchema, haStrategy: haStrategySchema, witness: witnessSchema.optional() }).strict(),
);
export const ClusterRenamed = defineEvent('ClusterRenamed', 1, z.object({ clusterId: idSchema, name: nameSchema, previousName: nameSchema }).strict());
export const ClusterDeleted = defineEvent('ClusterDeleted', 1, z.object({ clusterId: idSchema }).strict());

export const CreateCluster = defineCommand(
  'CreateCluster',
  1,
  z.object({ clusterId: idSchema.optional(), siteId: idSchema, name: nameSchema, haStrategy: haStrategySchema.default('heartbeat'), witness: witnessSchema.optional() }).strict(),
);
export const RenameCluster = defineCommand('RenameCluster', 1, z.object({ clusterId: idSchema, name: nameSchema }).strict());
export const DeleteCluster = defineCommand('DeleteCluster', 1, z.object({ clusterId: idSchema }).strict());

export const clusterEvents = [ClusterCreated, ClusterRenamed, ClusterDeleted] as const;
export const clusterCommands = [CreateCluster, RenameCluster, DeleteCluster] as const;
