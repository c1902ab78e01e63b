/**
 * Devices: logical units. One LU identity whatever the number of replicas: a plain device has one replica
 * (CreateDevice), a HA device 2 or 3 mirrored synchronously (CreateHaDevice), each on its own node.
 */
import { z } from 'zod';
import { defineCommand, defineEvent } from './contract';
import {
  addressSchema,
  byteCountSchema,
  haSpecSchema,
  haStrategySchema,
  initialSyncSchema,
  pathPreferenceSchema,
  cacheModeSchema,
  idSchema,
  nameSchema,
  replicaSchema,
  replicasOnDistinctNodes,
  sectorSizeSchema,
  sizeIsWholeSectors,
  storeKindSchema,
} from './common';

const replicasSchema = z.array(replicaSchema).min(1, 'a device needs at least one replica').max(3, 'a device has at most 3 replicas').superRefine(replicasOnDistinctNodes);

const deviceSpecSchema = z
  .object({
    deviceId: idSchema,
    clusterId: idSchema,
    name: nameSchema,
    sizeBytes: byteCountSchema,
    sectorSize: sectorSizeSchema,
    storeKind: storeKindSchema,
    cacheMode: cacheModeSchema,
    replicas: replicasSchema,
    /** Present on HA devices. */
    ha: haSpecSchema.optional(),
  })
  .strict();

export const DeviceCreated = defineEvent('DeviceCreated', 1, deviceSpecSchema.superRefine(sizeIsWholeSectors));
export const DeviceResized = defineEvent('DeviceResized', 1, z.object({ deviceId: idSchema, sizeBytes: byteCountSchema, previousSizeBytes: byteCountSchema }).strict());
export const DeviceDeleted = defineEvent('DeviceDeleted', 1, z.object({ deviceId: idSchema }).strict());

export const CreateDevice = defineCommand(
  'CreateDevice',
  1,
  deviceSpecSchema
    .omit({ ha: true })
    .extend({
      deviceId: idSchema.optional(),
      sectorSize: sectorSizeSchema.default(512),
      storeKind: storeKindSchema.default('FLAT'),
      cacheMode: cacheModeSchema.default('write-through'),
    })
    .superRefine(sizeIsWholeSectors),
);
/** What the administrator gives per replica of a HA device; endpoints default to the node's registered ones. */
const haReplicaInputSchema = z
  .object({
    nodeId: idSchema,
    priority: z.number().int().min(0).max(255),
    syncAddresses: z.array(addressSchema).min(1).max(8).optional(),
    heartbeatAddresses: z.array(addressSchema).max(8).optional(),
    paths: pathPreferenceSchema.default('optimized'),
    /** Default: the device's `storeKind`. */
    storeKind: storeKindSchema.optional(),
  })
  .strict();

export const CreateHaDevice = defineCommand(
  'CreateHaDevice',
  1,
  z
    .object({
      deviceId: idSchema.optional(),
      clusterId: idSchema,
      name: nameSchema,
      sizeBytes: byteCountSchema,
      sectorSize: sectorSizeSchema.default(512),
      storeKind: storeKindSchema.default('FLAT'),
      cacheMode: cacheModeSchema.default('write-through'),
      replicas: z.array(haReplicaInputSchema).min(2, 'a HA device needs 2 or 3 replicas').max(3, 'a HA device has at most 3 replicas').superRefine(replicasOnDistinctNodes),
      strategy: haStrategySchema.default('heartbeat'),
      witness: z.array(addressSchema).max(8).default([]),
      initialSync: initialSyncSchema.default('CLEAR_BOTH'),
      syncFromNodeId: idSchema.optional(),
    })
    .strict()
    .superRefine(sizeIsWholeSectors)
    .superRefine((cmd, ctx) => {
      const priorities = new Set<number>();
      cmd.replicas.forEach((r, i) => {
        if (priorities.has(r.priority)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['replicas', i, 'priority'], message: 'priorities must differ, so that a split always has one winner' });
        priorities.add(r.priority);
      });
      if (cmd.initialSync === 'SYNC_FROM' && !cmd.replicas.some((r) => r.nodeId === cmd.syncFromNodeId)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['syncFromNodeId'], message: 'SYNC_FROM needs syncFromNodeId: the node of the replica whose data the others receive' });
      }
      if (cmd.initialSync !== 'SYNC_FROM' && cmd.syncFromNodeId !== undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['syncFromNodeId'], message: 'syncFromNodeId goes with initialSync SYNC_FROM only' });
      }
      if (cmd.strategy === 'node-majority' && cmd.replicas.length === 2 && cmd.witness.length === 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['witness'], message: 'NODE_MAJORITY with two replicas needs a witness (`tandem witness`) to make a majority' });
      }
    }),
  { aggregate: 'device', verb: 'create-ha' },
);

/**
 * After a split-brain (both replicas went on alone): the administrator chooses the replica whose data survives;
 * the others are overwritten with a copy of it. Nothing is merged.
 */
export const ResolveSplitBrain = defineCommand('ResolveSplitBrain', 1, z.object({ deviceId: idSchema, survivorNodeId: idSchema }).strict(), { aggregate: 'device', verb: 'resolve-split-brain' });
export const SplitBrainResolutionRequested = defineEvent('SplitBrainResolutionRequested', 1, z.object({ deviceId: idSchema, survivorNodeId: idSchema }).strict(), { aggregate: 'device' });

/** Grow only: shrinking a disk under a file system destroys data, so the orchestrator refuses it. */
export const ResizeDevice = defineCommand('ResizeDevice', 1, z.object({ deviceId: idSchema, sizeBytes: byteCountSchema }).strict());
export const DeleteDevice = defineCommand('DeleteDevice', 1, z.object({ deviceId: idSchema }).strict());

export const deviceEvents = [DeviceCreated, DeviceResized, DeviceDeleted, SplitBrainResolutionRequested] as const;
export const deviceCommands = [CreateDevice, CreateHaDevice, ResizeDevice, DeleteDevice, ResolveSplitBrain] as const;
