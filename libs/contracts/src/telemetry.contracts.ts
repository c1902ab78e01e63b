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
  })
  .strict();

export const nodeTelemetrySchema = z
  .object({
    nodeId: idSchema,
    sentAt: z.string().datetime({ offset: true }),
    intervalMs: z.number().int().positive(),
    health: z.enum(['ok', 'degraded', 'failing']),
    usedBytes: z.number().int().min(0),
    devices: z.array(deviceTelemetrySchema),
  })
  .strict();
export type NodeTelemetry = z.output<typeof nodeTelemetrySchema>;
