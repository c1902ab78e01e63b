/** `alerts(first, after, active, severity, subject)`, a connection over the alerts read model, and the live `alertChanged` subscription. */
import { Inject } from '@nestjs/common';
import { Args, ID, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import { AlertEntity } from '@tandem/orchestrator';
import { gatewayError } from '../errors';
import { EventFeed } from '../events/eventFeed';
import { FleetReader } from '../fleet/fleetReader';
import { assertFirst, connectionOf, decodeCursor, type Connection } from '../relay/connection';
import { Alert, AlertChange, AlertConnection, AlertSeverity, toAlert } from './alert.models';

export const MAX_ALERTS = 1000;

@Resolver(() => Alert)
export class AlertsResolver {
  constructor(
    @Inject(FleetReader) private readonly fleet: FleetReader,
    @Inject(EventFeed) private readonly feed: EventFeed,
  ) {}

  @Query(() => AlertConnection, { description: 'Alerts, newest first: active ones only with `active: true`, cleared ones with `false`; of some severities; about one subject (node, device or cluster id, or a link id).' })
  async alerts(
    @Args('first', { type: () => Int, defaultValue: 200, description: `At most ${MAX_ALERTS}.` }) first: number,
    @Args('after', { type: () => String, nullable: true, description: 'A cursor (`pageInfo.endCursor`); the page starts after it.' }) after?: string | null,
    @Args('active', { type: () => Boolean, nullable: true }) active?: boolean | null,
    @Args('severity', { type: () => [AlertSeverity], nullable: true, description: 'Any of these.' }) severity?: AlertSeverity[] | null,
    @Args('subject', { type: () => ID, nullable: true, description: 'A subject id; a node id also matches the links from that node.' }) subject?: string | null,
  ): Promise<Connection<Alert>> {
    assertFirst(first, MAX_ALERTS);
    if (subject && !/^[0-9A-Za-z_-]{1,80}$/.test(subject)) throw gatewayError('BAD_USER_INPUT', 'subject: an id of a node, device, cluster or link (letters, digits, - and _)');
    const cursor = after ? decodeCursor('Alert', after, ['number', 'string']) : undefined;
    const page = this.fleet.alerts({ active: active ?? undefined, severity: severity ?? undefined, subject: subject ?? undefined }, first, cursor ? Number(cursor[0]) : undefined);
    return connectionOf('Alert', await page.rows, first, (row) => [row.raisedPosition, row.alertId], toAlert, page.count);
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
