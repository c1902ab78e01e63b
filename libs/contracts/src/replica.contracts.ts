/**
 * What node agents did with the devices placed on them, as the orchestrator records it: one event per agent report
 * (event id = report id, so a report delivered twice is recorded once), plus the agent commands a node refused.
 * They live in the node's own stream `agent-<nodeId>` (appended in report order, no expected version): never in the
 * device or node streams, whose versions belong to administrators' commands.
 */
import { z } from 'zod';
import { byteCountSchema, idSchema, sectorSizeSchema } from './common';
import { defineEvent } from './contract';
import { haTransitionShapes, nodeHealthSchema } from './agent.contracts';
import { errorCodeSchema } from './envelope';

export const agentStreamId = (nodeId: string): string => `agent-${nodeId}`;

/** Where a report came from: the node's own counter (from 1, no gaps) and the node's clock. */
const reported = { nodeId: idSchema, nodeSequence: z.number().int().min(1), occurredAt: z.string().datetime({ offset: true }) };
const lun = { deviceId: idSchema, targetName: z.string().min(1).max(223), lun: z.number().int().min(0).max(16383) };

/** The node presents its replica of the device: initiators can log in to `targetName` and use `lun`. */
export const ReplicaExported = defineEvent('ReplicaExported', 1, z.object({ ...reported, ...lun, sizeBytes: byteCountSchema, sectorSize: sectorSizeSchema }).strict());
export const ReplicaResized = defineEvent('ReplicaResized', 1, z.object({ ...reported, ...lun, sizeBytes: byteCountSchema, previousSizeBytes: byteCountSchema }).strict());
/** The node no longer presents it; its image is kept unless `dataDestroyed`. */
export const ReplicaWithdrawn = defineEvent('ReplicaWithdrawn', 1, z.object({ ...reported, ...lun, dataDestroyed: z.boolean() }).strict());
/** The orchestrator asked a node to create/resize/delete a replica and the node refused. */
export const ReplicaCommandFailed = defineEvent(
  'ReplicaCommandFailed',
  1,
  z
    .object({
      deviceId: idSchema,
      nodeId: idSchema,
      verb: z.enum(['create-device', 'resize-device', 'delete-device', 'resolve-split-brain']),
      code: errorCodeSchema,
      message: z.string().max(2048),
    })
    .strict(),
);

export const NodeHealthChanged = defineEvent(
  'NodeHealthChanged',
  1,
  z.object({ ...reported, health: nodeHealthSchema, previous: nodeHealthSchema.optional(), reason: z.string().max(512).optional() }).strict(),
);

/**
 * HA transitions of a replica (one per HaEvent type), recorded from the node's reports: `deviceId` names the HA
 * device (its LU identity), `nodeId` the node whose replica it is. Streams: `agent-<nodeId>`.
 */
const haBase = { ...reported, deviceId: z.string().min(1).max(64) };
export const ReplicaSynchronized = defineEvent('ReplicaSynchronized', 1, z.object({ ...haBase, ...haTransitionShapes.ReplicaSynchronized }).strict(), { aggregate: 'replica' });
export const ReplicaNotSynchronized = defineEvent('ReplicaNotSynchronized', 1, z.object({ ...haBase, ...haTransitionShapes.ReplicaNotSynchronized }).strict(), { aggregate: 'replica' });
export const DeviceBlocked = defineEvent('DeviceBlocked', 1, z.object({ ...haBase, ...haTransitionShapes.DeviceBlocked }).strict(), { aggregate: 'replica' });
export const DeviceUnblocked = defineEvent('DeviceUnblocked', 1, z.object({ ...haBase, ...haTransitionShapes.DeviceUnblocked }).strict(), { aggregate: 'replica' });
export const ResyncStarted = defineEvent('ResyncStarted', 1, z.object({ ...haBase, ...haTransitionShapes.ResyncStarted }).strict(), { aggregate: 'replica' });
export const ResyncProgress = defineEvent('ResyncProgress', 1, z.object({ ...haBase, ...haTransitionShapes.ResyncProgress }).strict(), { aggregate: 'replica' });
export const ResyncCompleted = defineEvent('ResyncCompleted', 1, z.object({ ...haBase, ...haTransitionShapes.ResyncCompleted }).strict(), { aggregate: 'replica' });
export const SplitBrainDetected = defineEvent('SplitBrainDetected', 1, z.object({ ...haBase, ...haTransitionShapes.SplitBrainDetected }).strict(), { aggregate: 'replica' });
export const SplitBrainResolved = defineEvent('SplitBrainResolved', 1, z.object({ ...haBase, ...haTransitionShapes.SplitBrainResolved }).strict(), { aggregate: 'replica' });
export const PathStateChanged = defineEvent('PathStateChanged', 1, z.object({ ...haBase, ...haTransitionShapes.PathStateChanged }).strict(), { aggregate: 'replica' });
export const SyncLatencyHigh = defineEvent('SyncLatencyHigh', 1, z.object({ ...haBase, ...haTransitionShapes.SyncLatencyHigh }).strict(), { aggregate: 'replica' });
export const haEvents = [
  ReplicaSynchronized, ReplicaNotSynchronized, DeviceBlocked, DeviceUnblocked, ResyncStarted, ResyncProgress, ResyncCompleted,
  SplitBrainDetected, SplitBrainResolved, PathStateChanged, SyncLatencyHigh,
] as const;

export const replicaEvents = [ReplicaExported, ReplicaResized, ReplicaWithdrawn, ReplicaCommandFailed, NodeHealthChanged, ...haEvents] as const;
