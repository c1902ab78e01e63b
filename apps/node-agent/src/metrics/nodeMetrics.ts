/**
 * A node agent's Prometheus registry (one per agent: tests run several in one process): iSCSI sessions, the outbox,
 * per-LU counters and latency histograms, RAM caches, HA state, the node's identity and image space, and Node's
 * process metrics. Every gauge reads its state when scraped; the data path only bumps its own counters.
 */
import { statfsSync, type StatsFs } from 'fs';
import * as path from 'path';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '@tandem/replication';
import type { HostedLun, LuStats, TargetHost } from '@tandem/target-host';
import { registerHaMetrics } from './haMetrics';
import { PrecomputedHistogram } from './precomputedHistogram';

export interface NodeMetricsSources {
  host(): TargetHost | null;
  outboxPending(): number;
  nodeId(): string;
  health(): 'ok' | 'degraded' | 'failing';
  version: string;
  imageDir: string;
}

const LU_LABELS = ['target', 'lun', 'device'] as const;
type LuLabel = (typeof LU_LABELS)[number];
const luLabels = (l: HostedLun): Record<LuLabel, string | number> => ({ target: l.target, lun: l.lun, device: l.deviceId });

export function createNodeMetrics(sources: NodeMetricsSources): Registry {
  const registry = new Registry();
  const registers = [registry];
  const luns = (): readonly HostedLun[] => sources.host()?.luns ?? [];

  const serverGauge = (name: string, help: string, key: 'sessions' | 'connections') =>
    new Gauge({ name, help, registers, collect() { this.set(sources.host()?.server.stats()[key] ?? 0); } });
  serverGauge('tandem_iscsi_sessions', 'iSCSI sessions open', 'sessions');
  serverGauge('tandem_iscsi_connections', 'iSCSI connections open', 'connections');
  new Gauge({ name: 'tandem_outbox_pending', help: 'Reports recorded but not yet acknowledged by NATS', registers, collect() { this.set(sources.outboxPending()); } });

  // Per-LU counters straight from the data path (monotonic; Prometheus computes the rates).
  const luCounter = (name: string, help: string, value: (s: LuStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: LU_LABELS,
      registers,
      collect() {
        this.reset();
        for (const l of luns()) this.inc(luLabels(l), value(l.stats));
      },
    });
  luCounter('tandem_lu_read_commands_total', 'READ commands completed', (s) => s.readCommands);
  luCounter('tandem_lu_write_commands_total', 'WRITE-family commands completed (WRITE, WRITE SAME, COMPARE AND WRITE, …)', (s) => s.writeCommands);
  luCounter('tandem_lu_read_bytes_total', 'Bytes read by initiators', (s) => s.readBytes);
  luCounter('tandem_lu_write_bytes_total', 'Bytes written by initiators', (s) => s.writeBytes);
  luCounter('tandem_lu_read_seconds_total', 'Sum of READ latencies', (s) => s.readMicros / 1e6);
  luCounter('tandem_lu_write_seconds_total', 'Sum of WRITE latencies', (s) => s.writeMicros / 1e6);
  new Gauge({
    name: 'tandem_lu_commands_in_flight',
    help: 'SCSI commands executing on the LU now',
    labelNames: LU_LABELS,
    registers,
    collect() {
      this.reset();
      for (const l of luns()) this.set(luLabels(l), l.stats.inFlight);
    },
  });
  const latency = (name: string, help: string, pick: (s: LuStats) => LuStats['readLatency']) =>
    registry.registerMetric(
      new PrecomputedHistogram({ name, help, labelNames: LU_LABELS, buckets: LATENCY_BUCKETS_SECONDS }, () => luns().map((l) => ({ labels: luLabels(l), histogram: pick(l.stats) }))),
    );
  latency('tandem_lu_read_latency_seconds', 'READ command latency, from the command entering the SCSI layer to its status', (s) => s.readLatency);
  latency('tandem_lu_write_latency_seconds', 'WRITE-family command latency (on HA devices: both replicas have the data)', (s) => s.writeLatency);

  const cached = () => luns().filter((l) => l.stats.cache).map((l) => ({ l, c: l.stats.cache!.stats() }));
  new Gauge({
    name: 'tandem_cache_dirty_bytes',
    help: "Data in the LU's RAM cache not yet written to its store",
    labelNames: LU_LABELS,
    registers,
    collect() {
      this.reset();
      for (const { l, c } of cached()) this.set(luLabels(l), c.dirtyBytes);
    },
  });
  new Gauge({
    name: 'tandem_cache_flush_estimate_seconds',
    help: 'Estimated time to write the dirty data out at the rate flushes achieved (absent until something was flushed)',
    labelNames: LU_LABELS,
    registers,
    collect() {
      this.reset();
      for (const { l, c } of cached()) if (c.estimatedFlushSeconds !== null && Number.isFinite(c.estimatedFlushSeconds)) this.set(luLabels(l), c.estimatedFlushSeconds);
    },
  });

  registerHaMetrics(registry, () => luns().filter((l) => l.ha).map((l) => ({ deviceId: l.deviceId, ha: l.ha! })));

  new Gauge({
    name: 'tandem_node_info',
    help: "The node's identity: 1, labelled with its node id and agent version (VersionMismatch compares versions)",
    labelNames: ['node_id', 'version'],
    registers,
    collect() {
      this.reset();
      this.set({ node_id: sources.nodeId(), version: sources.version }, 1);
    },
  });
  new Gauge({
    name: 'tandem_node_health',
    help: "The agent's own health verdict: 1 for the current one (ok, degraded, failing), 0 for the others",
    labelNames: ['health'],
    registers,
    collect() {
      const now = sources.health();
      for (const h of ['ok', 'degraded', 'failing'] as const) this.set({ health: h }, h === now ? 1 : 0);
    },
  });
  const imageFs = (name: string, help: string, value: (st: StatsFs) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.reset();
        const st = statOrNull(sources.imageDir);
        if (st) this.set(value(st));
      },
    });
  imageFs('tandem_node_image_fs_size_bytes', 'Size of the file system holding the device images', (st) => st.blocks * st.bsize);
  imageFs('tandem_node_image_fs_free_bytes', 'Space left to unprivileged writers on the file system holding the device images', (st) => st.bavail * st.bsize);

  collectDefaultMetrics({ register: registry, prefix: 'tandem_node_' });
  return registry;
}

/** The file system the images are (or will be, before the directory exists) written to: that of the nearest existing ancestor. */
function statOrNull(dir: string): StatsFs | null {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      return statfsSync(at);
    } catch {
      if (at === path.dirname(at)) return null;
    }
  }
}
