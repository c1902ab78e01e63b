/**
 * The admin socket of `tandem serve --admin-socket PATH`: a UNIX socket (mode 0600: whoever may use it is root or
 * the serving user) through which `tandem ha` asks a running node about its HA devices and, when no control plane
 * is there, resolves a split-brain. One JSON object per line each way.
 *
 *   {"op":"status"}                                   → {"ok":true,"devices":[…]} (each partner's sync round trip too)
 *   {"op":"resolve-split-brain","deviceId":"…"}       → {"ok":true} once the other replicas took this one's copy
 *   {"op":"lsfs-snapshot","path":DIR,"action":"create"|"list"|"delete","name":…} → snapshots of a served store
 */
import { promises as fsp } from 'fs';
import * as net from 'net';
import { resolve as resolvePath } from 'path';
import type { TargetHost } from '@tandem/target-host';
import { RttSource, SyncRttWindow } from './syncRtt';

const MAX_REQUEST_BYTES = 4096;

export interface HaDeviceStatus {
  target: string;
  lun: number;
  deviceId: string;
  role: string;
  blockReason: string | null;
  partners: HaPartnerRtt[];
}

export interface HaPartnerRtt {
  nodeId: string;
  state: string;
  member: boolean;
  connected: boolean;
  /** The last sync-link ping's round trip (best live link), µs; null when none measured. */
  rttMicros: number | null;
  /** The smallest sync-link ping round trip of the last `rttWindowSeconds` (slowest live link), µs; null when none. */
  rttFloorMicros: number | null;
  rttWindowSeconds: number;
}

/** The sync channels of every HA LUN the host serves, for the round-trip window. */
export function syncChannels(host: TargetHost): RttSource[] {
  return host.luns.flatMap((l) => (l.ha ? l.ha.partners.map((p) => p.channel) : []));
}

export function haStatus(host: TargetHost, rtt: SyncRttWindow): HaDeviceStatus[] {
  return host.luns
    .filter((l) => l.ha)
    .map((l) => {
      const ha = l.ha!;
      return {
        target: l.target,
        lun: l.lun,
        deviceId: l.deviceId,
        role: ha.role,
        blockReason: ha.role === 'serving' ? null : ha.blockReason,
        partners: ha.partners.map((p) => ({
          nodeId: p.nodeId,
          state: p.state,
          member: p.member,
          connected: p.channel.connected,
          rttMicros: p.channel.rttMicros >= 0 ? p.channel.rttMicros : null,
          rttFloorMicros: rtt.floorMicros(p.channel),
          rttWindowSeconds: rtt.windowMs / 1000,
        })),
      };
    });
}

interface LsfsSnapshotRequest {
  path?: unknown;
  action?: unknown;
  name?: unknown;
}

/** Snapshots of an LSFS store this node serves live: create, list, delete (rollback needs the LU offline). */
async function lsfsSnapshot(host: TargetHost, request: LsfsSnapshotRequest): Promise<unknown> {
  if (typeof request.path !== 'string') return { ok: false, error: 'path missing' };
  const dir = resolvePath(request.path);
  const lun = host.luns.find((l) => l.lsfs && resolvePath(l.lsfs.location) === dir);
  if (!lun?.lsfs) return { ok: false, error: `this node serves no LSFS store at ${dir}` };
  try {
    switch (request.action) {
      case 'list':
        return { ok: true, snapshots: lun.lsfs.listSnapshots() };
      case 'create':
        if (typeof request.name !== 'string') return { ok: false, error: 'name missing' };
        return { ok: true, snapshot: await lun.lsfs.createSnapshot(request.name) };
      case 'delete':
        if (typeof request.name !== 'string') return { ok: false, error: 'name missing' };
        await lun.lsfs.deleteSnapshot(request.name);
        return { ok: true };
      default:
        return { ok: false, error: `action ${JSON.stringify(request.action)}: create, list or delete (a rollback needs the LU offline: stop serving it, then \`tandem lsfs snapshot rollback\`)` };
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

async function answer(host: TargetHost, rtt: SyncRttWindow, line: string): Promise<unknown> {
  let request: { op?: unknown; deviceId?: unknown };
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (request.op === 'status') return { ok: true, devices: haStatus(host, rtt) };
  if (request.op === 'resolve-split-brain') {
    if (typeof request.deviceId !== 'string') return { ok: false, error: 'deviceId missing' };
    const lun = host.findDevice(request.deviceId);
    if (!lun) return { ok: false, error: `no device ${request.deviceId} on this node` };
    if (!lun.ha) return { ok: false, error: `device ${request.deviceId} is not a HA replica on this node` };
    try {
      await lun.ha.resolveSplitBrainKeepingThis();
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
  if (request.op === 'lsfs-snapshot') return lsfsSnapshot(host, request as LsfsSnapshotRequest);
  return { ok: false, error: `unknown op ${JSON.stringify(request.op)} (status, resolve-split-brain, lsfs-snapshot)` };
}

/** Listens on `path` (a stale socket file left by a killed process is replaced; anything else there is refused). */
export async function startAdminSocket(host: TargetHost, path: string, log: (message: string) => void): Promise<net.Server> {
  const existing = await fsp.lstat(path).catch(() => null);
  if (existing) {
    if (!existing.isSocket()) throw new Error(`--admin-socket ${path}: a file that is not a socket is there; refusing to replace it`);
    const alive = await new Promise<boolean>((resolve) => {
      const probe = net.connect(path, () => (probe.destroy(), resolve(true)));
      probe.on('error', () => resolve(false));
    });
    if (alive) throw new Error(`--admin-socket ${path}: another process is listening there`);
    await fsp.rm(path);
  }
  const rtt = new SyncRttWindow(() => syncChannels(host));
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) return void socket.end(JSON.stringify({ ok: false, error: 'request too long' }) + '\n');
      const at = buffered.indexOf('\n');
      if (at < 0) return;
      const line = buffered.slice(0, at);
      buffered = '';
      void answer(host, rtt, line).then((reply) => {
        log(`admin socket: ${line.slice(0, 200)} → ${JSON.stringify(reply).slice(0, 200)}`);
        socket.end(JSON.stringify(reply) + '\n');
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => (server.off('error', reject), resolve()));
  });
  await fsp.chmod(path, 0o600);
  rtt.start();
  server.on('close', () => rtt.stop());
  return server;
}

/** One request to a node's admin socket; rejects when nothing listens or no answer comes within `timeoutMs`. */
export function askAdminSocket(path: string, request: object, timeoutMs = 120_000): Promise<{ ok: boolean; error?: string; [k: string]: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buffered = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no answer from ${path} within ${timeoutMs} ms`))), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (d: string) => (buffered += d));
    socket.on('error', (err) => (clearTimeout(timer), reject(new Error(`${path}: ${err.message} (is \`tandem serve --admin-socket ${path}\` running?)`))));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buffered));
      } catch {
        reject(new Error(`${path}: unreadable answer`));
      }
    });
  });
}
