/** Field types shared by every aggregate's contracts, so a name or a size means the same thing everywhere. */
import { z } from 'zod';

export const idSchema = z.string().uuid('must be a UUID');

/** Display names of sites, clusters, nodes and devices: short, printable, no leading/trailing blanks. */
export const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9._ -]*[A-Za-z0-9._-])?$/, 'must start with a letter or digit and use only letters, digits, ".", "_", "-" and inner spaces');

/** Byte counts stay JS numbers: exact up to 2^53 bytes (8 PiB), far beyond one device or node. */
export const byteCountSchema = z.number().int('must be an integer').positive('must be positive').max(Number.MAX_SAFE_INTEGER);

export const sectorSizeSchema = z.union([z.literal(512), z.literal(4096)], {
  errorMap: () => ({ message: 'must be 512 or 4096' }),
});

export const storeKindSchema = z.enum(['FLAT', 'LSFS']);
export const cacheModeSchema = z.enum(['none', 'write-through', 'write-back']);

/** Sync down + heartbeat up → the lower-priority replica blocks; or a majority of nodes (+ witness) decides. */
export const haStrategySchema = z.enum(['heartbeat', 'node-majority']);

export const hostSchema = z.string().min(1).max(253);
export const portSchema = z.number().int().min(1).max(65535);

/**
 * An iSCSI portal. `portalGroupTag` is also the target port group ALUA reports for the node's paths: the replicas of
 * a HA device must sit behind different tags, so that initiators can tell the nodes' paths apart.
 */
export const portalSchema = z.object({ host: hostSchema, port: portSchema.default(3260), portalGroupTag: z.number().int().min(1).max(65535).optional() }).strict();

/** A TCP/UDP endpoint of a node (sync links, heartbeat links, witness). */
export const addressSchema = z.object({ host: hostSchema, port: portSchema }).strict();

/** ALUA state of a replica's paths while it serves: asymmetric set-ups mark some nodes' paths non-optimized. */
export const pathPreferenceSchema = z.enum(['optimized', 'non-optimized']);

/** Product versions are semver-like; a cluster requires the same version and build on every node. */
export const softwareVersionSchema = z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/, 'must look like 1.2.3');
export const buildSchema = z.string().min(1).max(64);

export const replicaSchema = z
  .object({
    nodeId: idSchema,
    /** Higher wins: with sync down and heartbeat up, the lower-priority replica blocks I/O. */
    priority: z.number().int().min(0).max(255),
    /**
     * HA devices only, fixed when the device is created: the replica's sync and heartbeat endpoints (the node's
     * registered ones unless the administrator chose others), its target port group and the ALUA state of its paths.
     */
    syncAddresses: z.array(addressSchema).min(1).max(8).optional(),
    heartbeatAddresses: z.array(addressSchema).max(8).optional(),
    portGroup: z.number().int().min(1).max(65535).optional(),
    paths: pathPreferenceSchema.optional(),
    /** This replica's store kind when it differs from the device's (a HA device may mix FLAT and LSFS replicas). */
    storeKind: storeKindSchema.optional(),
  })
  .strict();

/**
 * How a HA device starts: CLEAR_BOTH (new, empty replicas: identical from the start), NONE (the administrator
 * vouches that the replicas already hold the same data) or SYNC_FROM (one replica's data is copied to the others
 * in a full resync before they serve).
 */
export const initialSyncSchema = z.enum(['CLEAR_BOTH', 'SYNC_FROM', 'NONE']);

/** The HA part of a device: failover strategy, witness, and how the replicas start. */
export const haSpecSchema = z
  .object({
    strategy: haStrategySchema,
    witness: z.array(addressSchema).max(8).default([]),
    initialSync: initialSyncSchema,
    /** SYNC_FROM: the replica whose data the others receive. */
    syncFromNodeId: idSchema.optional(),
    /** The generation every replica starts from (chosen once, at creation). */
    initialGeneration: idSchema,
  })
  .strict();
export type HaSpec = z.output<typeof haSpecSchema>;

export const sizeIsWholeSectors = <T extends { sizeBytes: number; sectorSize: number }>(value: T, ctx: z.RefinementCtx): void => {
  if (value.sizeBytes % value.sectorSize !== 0) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sizeBytes'], message: `must be a multiple of the sector size (${value.sectorSize})` });
  }
};

export const replicasOnDistinctNodes = (replicas: readonly { nodeId: string }[], ctx: z.RefinementCtx): void => {
  const seen = new Set<string>();
  replicas.forEach((replica, index) => {
    if (seen.has(replica.nodeId)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index, 'nodeId'], message: 'each replica must be on a different node' });
    }
    seen.add(replica.nodeId);
  });
};
