/**
 * Orchestrator ↔ node agent: device commands the orchestrator sends to one agent (`tandem.agent.<nodeId>.cmd.<verb>`,
 * request/reply), the desired device set the agent asks for on reconnect, and the reports the agent publishes from
 * its local outbox (`tandem.agent.<nodeId>.report`, JetStream, `Nats-Msg-Id` = report id). Not event-log events:
 * the orchestrator decides what, if anything, to append when it consumes a report.
 */
import { z } from 'zod';
import { addressSchema, byteCountSchema, cacheModeSchema, haStrategySchema, idSchema, nameSchema, pathPreferenceSchema, sectorSizeSchema, sizeIsWholeSectors, storeKindSchema } from './common';
import { errorCodeSchema } from './envelope';

const portGroupSchema = z.number().int().min(1).max(65535);

/**
 * One replica's HA settings as its node applies them (computed by the orchestrator from the device's DeviceCreated):
 * its priority and port group, and every partner's node id, priority, sync and heartbeat endpoints and port group.
 * `initialSync`: `peer` (the replicas start identical), `source` (this replica's data is copied to the others),
 * `target` (this replica receives a full copy before it serves). Applied when the replica is first created.
 */
export const agentHaSchema = z
  .object({
    priority: z.number().int().min(0).max(255),
    portGroup: portGroupSchema,
    paths: pathPreferenceSchema,
    strategy: haStrategySchema,
    witness: z.array(addressSchema).max(8),
    initialGeneration: idSchema,
    initialSync: z.enum(['peer', 'source', 'target']),
    partners: z
      .array(z.object({ nodeId: idSchema, priority: z.number().int().min(0).max(255), sync: z.array(addressSchema).min(1).max(8), heartbeat: z.array(addressSchema).max(8), portGroup: portGroupSchema }).strict())
      .min(1)
      .max(2),
  })
  .strict();
export type AgentHa = z.output<typeof agentHaSchema>;

/** What one replica of a device looks like to the node that serves it. */
export const agentDeviceSchema = z
  .object({
    deviceId: idSchema,
    name: nameSchema,
    sizeBytes: byteCountSchema,
    sectorSize: sectorSizeSchema.default(512),
    storeKind: storeKindSchema.default('FLAT'),
    cacheMode: cacheModeSchema.default('write-through'),
    /** iSCSI target to present it on; default: the agent's per-device target name derived from the device id. */
    targetName: z.string().min(1).max(223).optional(),
    /** Present when the device is a HA device: this node's replica is mirrored to `ha.partners`. */
    ha: agentHaSchema.optional(),
  })
  .strict()
  .superRefine(sizeIsWholeSectors);
export type AgentDevice = z.output<typeof agentDeviceSchema>;

const agentCommandBase = { commandId: idSchema, correlationId: idSchema.optional() };

export const agentCommandSchemas = {
  /** Present the device (creating its image when absent). */
  'create-device': z.object({ ...agentCommandBase, device: agentDeviceSchema }).strict(),
  /** Grow only. */
  'resize-device': z.object({ ...agentCommandBase, deviceId: idSchema, sizeBytes: byteCountSchema }).strict(),
  /** Withdraw the LUN; the image is kept unless `destroyData`. */
  'delete-device': z.object({ ...agentCommandBase, deviceId: idSchema, destroyData: z.boolean().default(false) }).strict(),
  /** Converge on exactly this set of orchestrator-managed devices (images of withdrawn ones are kept). */
  'sync-devices': z.object({ ...agentCommandBase, devices: z.array(agentDeviceSchema).max(16384) }).strict(),
  /**
   * After a split-brain, the administrator's choice: the survivor's replica keeps its data and resyncs the others;
   * the others check that they are in split-brain with it and wait for its copy.
   */
  'resolve-split-brain': z.object({ ...agentCommandBase, deviceId: idSchema, survivorNodeId: idSchema }).strict(),
} as const;
export type AgentCommandVerb = keyof typeof agentCommandSchemas;
export const AGENT_COMMAND_VERBS = Object.keys(agentCommandSchemas) as AgentCommandVerb[];
export type AgentCommand<V extends AgentCommandVerb = AgentCommandVerb> = z.output<(typeof agentCommandSchemas)[V]>;

export const deviceChangeSchema = z
  .object({
    deviceId: idSchema,
    outcome: z.enum(['created', 'resized', 'deleted', 'unchanged', 'resolved']),
    targetName: z.string().optional(),
    lun: z.number().int().min(0).optional(),
    sizeBytes: z.number().int().min(0).optional(),
  })
  .strict();
export type DeviceChange = z.output<typeof deviceChangeSchema>;

/** The agent's answer; a replayed command (same commandId) gets the same reply and changes nothing. */
export const agentCommandReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), commandId: idSchema, nodeId: idSchema, changes: z.array(deviceChangeSchema) }).strict(),
  z
    .object({
      ok: z.literal(false),
      commandId: idSchema.optional(),
      nodeId: idSchema,
      error: z.object({ code: errorCodeSchema, message: z.string(), problems: z.array(z.object({ path: z.string(), message: z.string() })).optional() }).strict(),
    })
    .strict(),
]);
export type AgentCommandReply = z.output<typeof agentCommandReplySchema>;

/** Request on `agentDesiredDevicesSubject` and the orchestrator's answer. */
export const desiredDevicesRequestSchema = z.object({ nodeId: idSchema }).strict();
export const desiredDevicesReplySchema = z.object({ nodeId: idSchema, devices: z.array(agentDeviceSchema).max(16384) }).strict();

export const nodeHealthSchema = z.enum(['ok', 'degraded', 'failing']);

const reason = z.string().max(1024);
const partnerNodeId = z.string().min(1).max(64);
/** HA transitions, as libs/replication reports them (HaEvent), by type; the orchestrator records each as an event of that type. */
export const haTransitionShapes = {
  ReplicaSynchronized: { partnerNodeId },
  ReplicaNotSynchronized: { partnerNodeId, reason },
  DeviceBlocked: { reason },
  DeviceUnblocked: { reason },
  ResyncStarted: { partnerNodeId, direction: z.enum(['to-partner', 'from-partner']), kind: z.enum(['fast', 'full']), bytes: z.number().int().min(0) },
  ResyncProgress: { partnerNodeId, doneBytes: z.number().int().min(0), totalBytes: z.number().int().min(0) },
  ResyncCompleted: { partnerNodeId, kind: z.enum(['fast', 'full']), bytes: z.number().int().min(0), seconds: z.number().min(0) },
  SplitBrainDetected: { partnerNodeId, evidence: z.string().max(2048) },
  SplitBrainResolved: { partnerNodeId, survivorNodeId: partnerNodeId },
  PathStateChanged: { portGroup: z.number().int().min(1).max(65535), state: z.enum(['optimized', 'non-optimized', 'standby', 'unavailable', 'transitioning']) },
  SyncLatencyHigh: { partnerNodeId, rttMicros: z.number().int().min(0) },
} as const;
export type HaTransitionType = keyof typeof haTransitionShapes;
export const haTransitionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ReplicaSynchronized'), ...haTransitionShapes.ReplicaSynchronized }).strict(),
  z.object({ type: z.literal('ReplicaNotSynchronized'), ...haTransitionShapes.ReplicaNotSynchronized }).strict(),
  z.object({ type: z.literal('DeviceBlocked'), ...haTransitionShapes.DeviceBlocked }).strict(),
  z.object({ type: z.literal('DeviceUnblocked'), ...haTransitionShapes.DeviceUnblocked }).strict(),
  z.object({ type: z.literal('ResyncStarted'), ...haTransitionShapes.ResyncStarted }).strict(),
  z.object({ type: z.literal('ResyncProgress'), ...haTransitionShapes.ResyncProgress }).strict(),
  z.object({ type: z.literal('ResyncCompleted'), ...haTransitionShapes.ResyncCompleted }).strict(),
  z.object({ type: z.literal('SplitBrainDetected'), ...haTransitionShapes.SplitBrainDetected }).strict(),
  z.object({ type: z.literal('SplitBrainResolved'), ...haTransitionShapes.SplitBrainResolved }).strict(),
  z.object({ type: z.literal('PathStateChanged'), ...haTransitionShapes.PathStateChanged }).strict(),
  z.object({ type: z.literal('SyncLatencyHigh'), ...haTransitionShapes.SyncLatencyHigh }).strict(),
]);
export type HaTransition = z.output<typeof haTransitionSchema>;

const lunFields = { deviceId: idSchema, targetName: z.string().min(1), lun: z.number().int().min(0) };

const reportEnvelope = {
  reportId: idSchema,
  nodeId: idSchema,
  /** Counts up per node from 1, in the order the agent recorded its reports. */
  sequence: z.number().int().min(1),
  occurredAt: z.string().datetime({ offset: true }),
  /** The agent command that caused it, if any. */
  causationId: idSchema.optional(),
  correlationId: idSchema.optional(),
};

const report = <T extends string, D extends z.ZodRawShape>(type: T, data: D) =>
  z.object({ ...reportEnvelope, type: z.literal(type), data: z.object(data).strict() }).strict();

/** Facts the agent reports from its outbox, in order. */
export const agentReportSchema = z.discriminatedUnion('type', [
  report('LunCreated', { ...lunFields, sizeBytes: byteCountSchema, sectorSize: sectorSizeSchema }),
  report('LunResized', { ...lunFields, sizeBytes: byteCountSchema, previousSizeBytes: byteCountSchema }),
  report('LunDeleted', { ...lunFields, dataDestroyed: z.boolean() }),
  report('NodeHealthChanged', { health: nodeHealthSchema, previous: nodeHealthSchema.optional(), reason: z.string().max(512).optional() }),
  /** A HA device's replica on this node changed state (libs/replication); recorded as the event of the same name. */
  report('HaStateChanged', { deviceId: z.string().min(1).max(64), event: haTransitionSchema }),
]);
export type AgentReport = z.output<typeof agentReportSchema>;
export type AgentReportType = AgentReport['type'];
