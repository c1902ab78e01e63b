/**
 * A storage node's sync links to each partner as its last telemetry measured them (link count and round trip), summed
 * over the HA devices it mirrors with that partner. An observation, like lastSeenAt: not kept in the event log, so not
 * time-travelled.
 */
import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { nodeTelemetrySchema } from '@tandem/contracts';

@ObjectType({ description: "The sync links from a node to one partner, as the node's last telemetry measured them (not time-travelled)." })
export class SyncLinkView {
  @Field(() => ID) partnerNodeId!: string;
  @Field(() => Int, { description: 'Links up, on the device that has the fewest.' }) linksUp!: number;
  @Field(() => Int, { description: 'Links configured, on the device that has the most.' }) linksConfigured!: number;
  @Field(() => Int, { nullable: true, description: "Round trip in microseconds: the slowest device's slowest live link, each the smallest over the reporting interval; null while no link is up or none was measured yet." })
  rttMicros!: number | null;
  @Field(() => Int, { description: 'HA devices the node mirrors with this partner.' }) devices!: number;
  @Field({ description: 'When the node sent the telemetry this comes from.' }) observedAt!: Date;
}

/** The links of one node's telemetry (as stored by the liveness monitor), by partner; empty when there is none or it does not parse. */
export function syncLinksOf(telemetry: unknown): SyncLinkView[] {
  const parsed = nodeTelemetrySchema.safeParse(telemetry);
  if (!parsed.success) return [];
  const observedAt = new Date(parsed.data.sentAt);
  const byPartner = new Map<string, SyncLinkView>();
  for (const device of parsed.data.devices) {
    for (const p of device.ha?.partners ?? []) {
      const link = byPartner.get(p.nodeId);
      const rtt = p.linksUp > 0 ? p.rttMicros : null;
      if (!link) {
        byPartner.set(p.nodeId, { partnerNodeId: p.nodeId, linksUp: p.linksUp, linksConfigured: p.linksConfigured, rttMicros: rtt, devices: 1, observedAt });
        continue;
      }
      link.linksUp = Math.min(link.linksUp, p.linksUp);
      link.linksConfigured = Math.max(link.linksConfigured, p.linksConfigured);
      if (rtt !== null) link.rttMicros = Math.max(link.rttMicros ?? 0, rtt);
      link.devices += 1;
    }
  }
  return [...byPartner.values()].sort((a, b) => (a.partnerNodeId < b.partnerNodeId ? -1 : a.partnerNodeId > b.partnerNodeId ? 1 : 0));
}
