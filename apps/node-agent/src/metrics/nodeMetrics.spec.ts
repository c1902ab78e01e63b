/**
 * Two real node agents (in this process, NATS off) presenting one HA device on loopback: I/O through a real iSCSI
 * session, then /metrics scraped over HTTP and parsed as Prometheus text. Checks the LU counters and latency
 * histograms grow with the I/O, HA role/ALUA/partner state, sync round trips, and a throttled resync's progress.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RawConnection, eventually, freePort, haPair, histogram, histogramIsConsistent, httpGet, login, logout, parsePrometheus, read10, sampleValue, scsi, write10 } from '@tandem/testing';
import type { Family, HaNode, Session } from '@tandem/testing';
import { NodeAgentModule } from '../app.module';
import { settingsFromArgv } from '../config';
import { TargetHostService } from '../target/targetHost.service';

process.env.TANDEM_LOG_LEVEL ??= 'warn';
jest.setTimeout(60_000);

const KiB = 1024;
const MiB = 1024 * KiB;

/** A new I_T nexus first hears its unit attentions (power on, ALUA changes): TEST UNIT READY until GOOD. */
async function openSession(port: number): Promise<Session> {
  const session = await login(await RawConnection.connect('127.0.0.1', port), { targetName: 'iqn.2026-11.io.tandem:ha-test' });
  await eventually(async () => (await scsi(session, 0, Buffer.alloc(6))).status === 0, 'TEST UNIT READY GOOD');
  return session;
}

describe('node agent /metrics', () => {
  let dir: string;
  let nodes: { a: HaNode; b: HaNode };
  let deviceId: string;
  const apps = new Map<string, INestApplicationContext>();
  const httpPorts = new Map<string, number>();

  const start = async (node: HaNode): Promise<INestApplicationContext> => {
    const port = httpPorts.get(node.name) ?? (await freePort());
    httpPorts.set(node.name, port);
    const stateDir = path.join(dir, `${node.name}-state`);
    const settings = settingsFromArgv(['--config', node.configPath, '--http', `127.0.0.1:${port}`, '--nats', 'none', '--state-dir', stateDir], {});
    const app = await NestFactory.createApplicationContext(NodeAgentModule.forRoot(settings), { logger: false });
    await app.init();
    apps.set(node.name, app);
    return app;
  };
  const stop = async (node: HaNode) => {
    await apps.get(node.name)?.close();
    apps.delete(node.name);
  };
  const scrape = async (node: HaNode): Promise<Map<string, Family>> => {
    const res = await httpGet(`http://127.0.0.1:${httpPorts.get(node.name)}/metrics`);
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain/);
    return parsePrometheus(res.body);
  };
  const ha = (node: HaNode) => apps.get(node.name)!.get(TargetHostService).current!.luns[0].ha!;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-metrics-'));
    // 256 KiB/s: a 2 MiB resync lasts ~8 s, long enough to watch its progress.
    const pair = await haPair({ dir, sizeBytes: 16 * MiB, startupWaitMs: 2000, resyncBytesPerSecond: 256 * KiB });
    nodes = { a: pair.a, b: pair.b };
    deviceId = pair.deviceId;
    await Promise.all([start(nodes.a), start(nodes.b)]);
    await eventually(() => ha(nodes.a).role === 'serving' && ha(nodes.b).role === 'serving', 'both replicas serving');
  });
  afterAll(async () => {
    for (const name of [...apps.keys()]) await apps.get(name)!.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exposes I/O counters and latency histograms that grow with I/O, and the HA state of both replicas', async () => {
    const lu = { device: deviceId, lun: '0' };
    const before = await scrape(nodes.a);
    expect(histogram(before, 'tandem_lu_write_latency_seconds', lu)?.count).toBe(0);

    const session = await openSession(nodes.a.iscsiPort);
    try {
      const data = Buffer.alloc(64 * KiB, 0x5a);
      for (let i = 0; i < 20; i++) expect((await scsi(session, 0, write10(i * 128, 128), { writeData: data })).status).toBe(0);
      for (let i = 0; i < 30; i++) expect((await scsi(session, 0, read10(i * 8, 8), { readLength: 4 * KiB })).status).toBe(0);

      const m = await scrape(nodes.a);
      expect(sampleValue(m, 'tandem_iscsi_sessions')).toBe(1);
      expect(sampleValue(m, 'tandem_iscsi_connections')).toBe(1);
      expect(sampleValue(m, 'tandem_lu_write_commands_total', lu)).toBe(20);
      expect(sampleValue(m, 'tandem_lu_read_commands_total', lu)).toBe(30);
      expect(sampleValue(m, 'tandem_lu_write_bytes_total', lu)).toBe(20 * 64 * KiB);
      const writes = histogram(m, 'tandem_lu_write_latency_seconds', lu)!;
      const reads = histogram(m, 'tandem_lu_read_latency_seconds', lu)!;
      expect(writes.count).toBe(20);
      expect(reads.count).toBe(30);
      expect(histogramIsConsistent(writes) && histogramIsConsistent(reads)).toBe(true);
      // The histogram's sum is the same latency the seconds counter adds up (one measurement, two views).
      expect(writes.sum).toBeCloseTo(sampleValue(m, 'tandem_lu_write_seconds_total', lu)!, 6);
      expect(writes.sum).toBeGreaterThan(0);
      expect(m.get('tandem_lu_write_latency_seconds')!.type).toBe('histogram');

      expect(sampleValue(m, 'tandem_ha_role', { device: deviceId, role: 'serving' })).toBe(1);
      expect(sampleValue(m, 'tandem_ha_role', { device: deviceId, role: 'blocked' })).toBe(0);
      expect(sampleValue(m, 'tandem_ha_access_state', { device: deviceId, state: 'optimized' })).toBe(1);
      expect(sampleValue(m, 'tandem_ha_partner_state', { device: deviceId, partner: 'node-b', state: 'synchronized' })).toBe(1);
      expect(sampleValue(m, 'tandem_ha_sync_links_up', { device: deviceId, partner: 'node-b' })).toBe(1);
      expect(sampleValue(m, 'tandem_ha_sync_links_configured', { device: deviceId, partner: 'node-b' })).toBe(1);
      // haPair puts sync and heartbeat on one address (127.0.0.1): exactly what HeartbeatSharesSyncLink warns about.
      expect(sampleValue(m, 'tandem_ha_heartbeat_shares_sync_link', { device: deviceId, partner: 'node-b' })).toBe(1);
      expect(sampleValue(m, 'tandem_ha_resync_remaining_bytes', { device: deviceId, partner: 'node-b' })).toBe(0);
      expect(m.get('tandem_node_info')!.samples).toEqual([{ labels: { node_id: expect.stringMatching(/^[0-9a-f-]{36}$/), version: expect.stringMatching(/^\d+\.\d+\.\d+/) }, value: 1 }]);
      expect(sampleValue(m, 'tandem_node_image_fs_size_bytes')).toBeGreaterThan(0);
      expect(m.get('tandem_node_nodejs_eventloop_lag_seconds')).toBeDefined();
      expect(sampleValue(m, 'tandem_node_process_resident_memory_bytes')).toBeGreaterThan(0);

      // Pings go every 200 ms on each link: the round-trip histogram fills on its own.
      const rtt = await eventually(async () => {
        const h = histogram(await scrape(nodes.a), 'tandem_sync_rtt_seconds', { device: deviceId, partner: 'node-b', link: '0' });
        return h && h.count >= 2 ? h : null;
      }, 'sync round trips observed');
      expect(histogramIsConsistent(rtt)).toBe(true);
      expect(rtt.sum / rtt.count).toBeLessThan(1);

      // node-b got the writes as a replica, not as SCSI commands: its LU counters stay at zero.
      const b = await scrape(nodes.b);
      expect(sampleValue(b, 'tandem_lu_write_commands_total', lu)).toBe(0);
      expect(sampleValue(b, 'tandem_ha_role', { device: deviceId, role: 'serving' })).toBe(1);
      expect(sampleValue(b, 'tandem_ha_partner_state', { device: deviceId, partner: 'node-a', state: 'synchronized' })).toBe(1);
    } finally {
      await logout(session).catch(() => undefined);
    }
  });

  it('shows a lost partner, then the resync that brings it back, with bytes remaining and a rate', async () => {
    await stop(nodes.b);
    await eventually(async () => sampleValue(await scrape(nodes.a), 'tandem_ha_partner_state', { device: deviceId, partner: 'node-b', state: 'not-synchronized' }) === 1, 'node-b not synchronized');
    const alone = await scrape(nodes.a);
    expect(sampleValue(alone, 'tandem_ha_sync_links_up', { device: deviceId, partner: 'node-b' })).toBe(0);
    expect(sampleValue(alone, 'tandem_ha_role', { device: deviceId, role: 'serving' })).toBe(1);

    // 32 separate 64 KiB regions while node-b is away: separate, so the resync copies them one by one (8 at a time,
    // each throttled) rather than as a few 1 MiB runs that would all be in flight at once.
    const session = await openSession(nodes.a.iscsiPort);
    try {
      const data = Buffer.alloc(64 * KiB, 0xa5);
      for (let i = 0; i < 32; i++) expect((await scsi(session, 0, write10(8192 + i * 256, 128), { writeData: data })).status).toBe(0);
    } finally {
      await logout(session).catch(() => undefined);
    }
    const copiedBefore = sampleValue(alone, 'tandem_ha_resync_copied_bytes_total', { device: deviceId }) ?? 0;

    await start(nodes.b);
    let last: Map<string, Family> | null = null;
    const during = await eventually(async () => {
      const m = (last = await scrape(nodes.a));
      return (sampleValue(m, 'tandem_ha_resync_remaining_bytes', { device: deviceId, partner: 'node-b' }) ?? 0) > 0 && (sampleValue(m, 'tandem_ha_resync_bytes_per_second', { device: deviceId, partner: 'node-b' }) ?? 0) > 0 ? m : null;
    }, 'a resync in progress').catch((error: Error) => {
      throw new Error(`${error.message}; node-a's HA series: ${JSON.stringify([...last!.values()].filter((f) => f.name.startsWith('tandem_ha_')).map((f) => [f.name, f.samples.filter((x) => x.value !== 0)]))}`);
    });
    expect(sampleValue(during, 'tandem_ha_partner_state', { device: deviceId, partner: 'node-b', state: 'resync-to-partner' })).toBe(1);
    expect(sampleValue(during, 'tandem_ha_resync_remaining_bytes', { device: deviceId, partner: 'node-b' })).toBeLessThanOrEqual(16 * MiB);
    const target = await scrape(nodes.b);
    expect(sampleValue(target, 'tandem_ha_role', { device: deviceId, role: 'resync-target' })).toBe(1);
    expect(sampleValue(target, 'tandem_ha_access_state', { device: deviceId, state: 'standby' })).toBe(1);

    const after = await eventually(async () => {
      const m = await scrape(nodes.a);
      return sampleValue(m, 'tandem_ha_partner_state', { device: deviceId, partner: 'node-b', state: 'synchronized' }) === 1 ? m : null;
    }, 'resync completed', 30_000);
    expect(sampleValue(after, 'tandem_ha_resync_remaining_bytes', { device: deviceId, partner: 'node-b' })).toBe(0);
    expect(sampleValue(after, 'tandem_ha_resync_copied_bytes_total', { device: deviceId })! - copiedBefore).toBeGreaterThanOrEqual(32 * 64 * KiB);
  });
});
