/**
 * A replica's RAM cache as its node's last telemetry measured it: dirty bytes and the estimated time to write them
 * out (what a shutdown waits for). An observation, like lastSeenAt and syncLinks: not kept in the event log, so not
 * time-travelled.
 */
import { Field, Float, ObjectType } from '@nestjs/graphql';
import { nodeTelemetrySchema } from '@tandem/contracts';
import { SafeIntScalar } from '../scalars/scalars';

@ObjectType({ description: "A replica's RAM cache as its node's last telemetry measured it (not time-travelled)." })
export class ReplicaCacheView {
  @Field(() => SafeIntScalar, { description: 'Data acknowledged to hosts and not yet written to the store.' }) dirtyBytes!: number;
  @Field(() => Float, { nullable: true, description: 'Seconds writing the dirty data out would take (what a shutdown waits for); null until the node has measured its store.' })
  flushSeconds!: number | null;
  @Field({ description: 'When the node sent the telemetry this comes from.' }) observedAt!: Date;
}

/** The cache of `deviceId` in one node's telemetry (as the liveness monitor stores it); null without telemetry, without the device in it, or without cache figures. */
export function replicaCacheOf(telemetry: unknown, deviceId: string): ReplicaCacheView | null {
  const parsed = nodeTelemetrySchema.safeParse(telemetry);
  if (!parsed.success) return null;
  const device = parsed.data.devices.find((d) => d.deviceId === deviceId);
  if (!device || device.cacheDirtyBytes === undefined) return null;
  return { dirtyBytes: device.cacheDirtyBytes, flushSeconds: device.cacheFlushSeconds ?? null, observedAt: new Date(parsed.data.sentAt) };
}
