/** `alerts(active, severity, subject)` over the alerts read model, and the live `alertChanged` subscription. */
import { Inject } from '@nestjs/common';
import { Args, ID, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import { AlertEntity } from '@tandem/orchestrator';
import { gatewayError } from '../errors';
import { EventFeed } from '../events/eventFeed';
import { FleetReader } from '../fleet/fleetReader';
import { Alert, AlertChange, AlertSeverity, toAlert } from './alert.models';

export const MAX_ALERTS = 1000;

@Resolver(() => Alert)
export class AlertsResolver {
  constructor(
    @Inject(FleetReader) private readonly fleet: FleetReader,
    @Inject(EventFeed) private readonly feed: EventFeed,
  ) {}

  @Query(() => [Alert], { description: 'Alerts, newest first: active ones only with `active: true`, cleared ones with `false`; of one severity; about one subject (node, device or cluster id, or a link id).' })
  async alerts(
    @Args('active', { type: () => Boolean, nullable: true }) active?: boolean | null,
    @Args('severity', { type: () => AlertSeverity, nullable: true }) severity?: AlertSeverity | null,
    @Args('subject', { type: () => ID, nullable: true, description: 'A subject id; a node id also matches the links from that node.' }) subject?: string | null,
    @Args('first', { type: () => Int, defaultValue: 200, description: `At most ${MAX_ALERTS}.` }) first = 200,
  ): Promise<Alert[]> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_ALERTS) throw gatewayError('BAD_USER_INPUT', `first: must be between 1 and ${MAX_ALERTS}`);
    if (subject && !/^[0-9A-Za-z_-]{1,80}$/.test(subject)) throw gatewayError('BAD_USER_INPUT', 'subject: an id of a node, device, cluster or link (letters, digits, - and _)');
    const rows = await this.fleet.alerts({ active: active ?? undefined, severity: severity ?? undefined, subject: subject ?? undefined, limit: first });
    return rows.map(toAlert);
  }

  @Subscription(() => AlertChange, { resolve: (change: AlertChange) => change, description: 'Alerts raised and cleared from now on (optionally about one subject).' })
  async alertChanged(@Args('subject', { type: () => ID, nullable: true }) subject?: string | null): Promise<AsyncIterableIterator<AlertChange>> {
    const source = await this.feed.follow('tandem.evt.alert.>', (e) => {
      const s = (e.data as { subject?: { id?: string } }).subject?.id;
      return !subject || s === subject || (s?.startsWith(`${subject}_`) ?? false);
    });
    const fleet = this.fleet;
    const iterator: AsyncIterableIterator<AlertChange> = {
      async next() {
        const item = await source.next();
        if (item.done) return { done: true, value: undefined };
        const e = item.value;
        await fleet.waitForProjection(e.globalPosition);
        const row = await fleet.db.dataSource.manager.findOneBy(AlertEntity, { alertId: (e.data as { alertId: string }).alertId });
        return { done: false, value: { event: { ...e, recordedAt: new Date(e.recordedAt) }, alert: row ? toAlert(row) : null } };
      },
      async return() {
        await source.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
