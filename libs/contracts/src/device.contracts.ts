/**
 * Devices: logical units. One LU identity whatever the number of replicas; for now the orchestrator accepts a
 * single FLAT replica, but the contracts already carry replicas (2–3 for HA) and their priorities.
 */
import { z } from 'zod';
import { defineCommand, defineEvent } from './contract';
import {
  byteCountSchema,
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
  })
  .strict();

export const DeviceCreated = defineEvent('DeviceCreated', 1, deviceSpecSchema.superRefine(sizeIsWholeSectors));
export const DeviceResized = defineEvent('DeviceResized', 1, z.object({ deviceId: idSchema, sizeBytes: byteCountSchema, previousSizeBytes: byteCountSchema }).strict());
export const DeviceDeleted = defineEvent('DeviceDeleted', 1, z.object({ deviceId: idSchema }).strict());

export const CreateDevice = defineCommand(
  'CreateDevice',
  1,
  deviceSpecSchema
    .extend({
      deviceId: idSchema.optional(),
      sectorSize: sectorSizeSchema.default(512),
      storeKind: storeKindSchema.default('FLAT'),
      cacheMode: cacheModeSchema.default('write-through'),
    })
    .superRefine(sizeIsWholeSectors),
);
/** Grow only: shrinking a disk under a file system destroys data, so the orchestrator refuses it. */
export const ResizeDevice = defineCommand('ResizeDevice', 1, z.object({ deviceId: idSchema, sizeBytes: byteCountSchema }).strict());
export const DeleteDevice = defineCommand('DeleteDevice', 1, z.object({ deviceId: idSchema }).strict());

export const deviceEvents = [DeviceCreated, DeviceResized, DeviceDeleted] as const;
export const deviceCommands = [CreateDevice, ResizeDevice, DeleteDevice] as const;
