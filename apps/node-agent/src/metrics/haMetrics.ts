/**
 * The HA series of a node's /metrics, read from each HA replica at scrape time: role, ALUA state, where each partner
 * stands, its sync links, resync progress, and the sync round-trip histogram per link.
 */
import { performance } from 'perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import { haReplicaStatus, RTT_BUCKETS_SECONDS, type HaDevice } from '@tandem/replication';
import { PrecomputedHistogram, type HistogramSource } from './precomputedHistogram';

/** A status read this recently serves the rest of the scrape. */
const STATUS_REUSE_MS = 100;
const ROLES = ['serving', 'blocked', 'resync-target'] as const;
const ACCESS_STATES = ['optimized', 'non-optimized', 'standby', 'unavailable', 'transitioning'] as const;
const PARTNER_STATES = ['unknown', 'synchronized', 'not-synchronized', 'resync-to-partner', 'resync-from-partner', 'split-brain'] as const;

export interface HaReplica {
  deviceId: string;
  ha: HaDevice;
}

/** The partner's heartbeat travels on one of its sync addresses: a cut cable then takes both, and both sides go on alone. */
export function heartbeatSharesSyncLink(partner: HaDevice['partners'][number]): boolean {
  const syncHosts = new Set(partner.cfg.sync.map((e) => e.host));
  return partner.cfg.heartbeat.some((e) => syncHosts.has(e.host));
}

export function registerHaMetrics(registry: Registry, replicas: () => HaReplica[]): void {
  const registers = [registry];
  // One scrape reads each replica's status once, shared by the gauges below (they collect within the same turn).
  let taken = { at: -Infinity, statuses: [] as { deviceId: string; ha: HaDevice; status: ReturnType<typeof haReplicaStatus> }[] };
  const current = () => {
    const now = performance.now();
    if (now - taken.at > STATUS_REUSE_MS) taken = { at: now, statuses: replicas().map((r) => ({ ...r, status: haReplicaStatus(r.ha) })) };
    return taken.statuses;
  };
  new Gauge({
    name: 'tandem_ha_role',
    help: 'HA replica role: 1 for the current role (serving, blocked, resync-target), 0 for the others',
    labelNames: ['device', 'role'],
    registers,
    collect() {
      this.reset();
      for (const { deviceId, status } of current()) for (const role of ROLES) this.set({ device: deviceId, role }, status.role === role ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tandem_ha_access_state',
    help: "ALUA access state of this node's paths to the device: 1 for the current state, 0 for the others",
    labelNames: ['device', 'state'],
    registers,
    collect() {
      this.reset();
      for (const { deviceId, status } of current()) for (const state of ACCESS_STATES) this.set({ device: deviceId, state }, status.accessState === state ? 1 : 0);
    },
  });
  const perPartner = (name: string, help: string, value: (p: ReturnType<typeof haReplicaStatus>['partners'][number], ha: HaDevice) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['device', 'partner'],
      registers,
      collect() {
        this.reset();
        for (const { deviceId, ha, status } of current()) {
          for (const p of status.partners) {
            const v = value(p, ha);
            if (v !== null) this.set({ device: deviceId, partner: p.nodeId }, v);
          }
        }
      },
    });
  new Gauge({
    name: 'tandem_ha_partner_state',
    help: 'Where this replica stands towards each partner: 1 for the current state, 0 for the others',
    labelNames: ['device', 'partner', 'state'],
    registers,
    collect() {
      this.reset();
      for (const { deviceId, status } of current()) {
        for (const p of status.partners) for (const state of PARTNER_STATES) this.set({ device: deviceId, partner: p.nodeId, state }, p.state === state ? 1 : 0);
      }
    },
  });
  perPartner('tandem_ha_partner_member', "1 while the partner is a member of this replica's group (holds every acknowledged write)", (p) => (p.member ? 1 : 0));
  perPartner('tandem_ha_sync_links_up', 'Sync links to the partner that are up', (p) => p.linksUp);
  perPartner('tandem_ha_sync_links_configured', 'Sync links to the partner in the configuration', (p) => p.linksConfigured);
  perPartner('tandem_ha_sync_rtt_last_seconds', 'Best ping round trip over the live sync links to the partner (absent before one was measured)', (p) => (p.rttMicros >= 0 ? p.rttMicros / 1e6 : null));
  perPartner('tandem_ha_heartbeat_shares_sync_link', "1 when a heartbeat address of the partner is also one of its sync addresses", (p, ha) => {
    const partner = ha.partnerById(p.nodeId);
    return partner && heartbeatSharesSyncLink(partner) ? 1 : 0;
  });
  perPartner('tandem_ha_resync_remaining_bytes', 'Bytes the running resync from this replica to the partner has still to copy (0 when none runs)', (p) => p.resyncRemainingBytes);
  perPartner('tandem_ha_resync_bytes_per_second', 'Mean copy rate of the running resync to the partner since it started (0 when none runs)', (p) => p.resyncBytesPerSecond);
  new Counter({
    name: 'tandem_ha_resync_copied_bytes_total',
    help: 'Bytes copied by resyncs from this replica since the device was opened',
    labelNames: ['device'],
    registers,
    collect() {
      this.reset();
      for (const { deviceId, status } of current()) this.inc({ device: deviceId }, status.resyncedBytes);
    },
  });
  registry.registerMetric(
    new PrecomputedHistogram(
      { name: 'tandem_sync_rtt_seconds', help: 'Sync link ping round trips, per link (link i: our sync address i to the partner\'s)', labelNames: ['device', 'partner', 'link'], buckets: RTT_BUCKETS_SECONDS },
      function* (): Iterable<HistogramSource<'device' | 'partner' | 'link'>> {
        for (const { deviceId, ha } of replicas()) {
          for (const p of ha.partners) {
            const perLink = p.channel.rttHistograms;
            for (let i = 0; i < perLink.length; i++) if (perLink[i]) yield { labels: { device: deviceId, partner: p.nodeId, link: i }, histogram: perLink[i] };
          }
        }
      },
    ),
  );
}
