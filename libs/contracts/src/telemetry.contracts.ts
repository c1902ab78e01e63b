/** Node agent telemetry on `tandem.telemetry.<nodeId>`: frequent, not stored in the event log. */
import { z } from 'zod';
import { idSchema } from './common';

export const deviceTelemetrySchema = z
  .object({
    deviceId: idSchema,
    readIops: z.number().min(0),
    writeIops: z.number().min(0),
    readBytesPerSecond: z.number().min(0),
    writeBytesPerSecond: z.number().min(0),
    /** Microseconds, over the reporting interval. */
    readLatencyMicros: z.number().min(0),
    writeLatencyMicros: z.number().min(0),
    queueDepth: z.number().int().min(0),
    /** RAM cache: data not yet written to the store, and how long writing it out would take (null: not measured yet). */
    cacheDirtyBytes: z.number().int().min(0).optional(),
    cacheFlushSeconds: z.number().min(0).nullable().optional(),
    /** HA replicas: this node's view of each partner's sync links now (alerts on latency and dead links come from it). */
    ha: z
      .object({
        partners: z
          .array(
            z
              .object({
                nodeId: z.string().min(1).max(64),
                state: z.string().max(32),
                linksUp: z.number().int().min(0),
                linksConfigured: z.number().int().min(0),
                /** The slowest live link's smallest round trip over the interval (a busy host only ever adds to a ping); null before one was measured. */
                rttMicros: z.number().int().min(0).nullable(),
              })
              .strict(),
          )
          .max(8),
      })
      .strict()
      .optional(),
  })
  .strict();

export const nodeTelemetrySchema = z
  .object({
    nodeId: idSchema,
    sentAt: z.string().datetime({ offset: true }),
    intervalMs: z.number().int().positive(),
    health: z.enum(['ok', 'degraded', 'failing']),
    usedBytes: z.number().int().min(0),
    /** The file system under the node's image directory (CapacityLow alerts). */
    imageFsBytes: z.number().int().min(0).optional(),
    imageFsFreeBytes: z.number().int().min(0).optional(),
    devices: z.array(deviceTelemetrySchema),
  })
  .strict();
export type NodeTelemetry = z.output<typeof nodeTelemetrySchema>;
