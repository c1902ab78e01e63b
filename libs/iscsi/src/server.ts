/**
 * The iSCSI target server: listens on portals, owns the targets, sessions and connections, and applies
 * session-level rules (TSIH allocation, reinstatement by ISID, SendTargets answers).
 */
import * as net from 'net';
import { ItNexus } from '@tandem/scsi';
import { adoptWithReadBuffer, createReadBufferServer, type ReadRoute } from '@tandem/storage';
import { ChapCredentials, MIN_CHAP_SECRET_LENGTH } from './chap';
import { IscsiConnection } from './connection';
import { Logger, silentLogger } from './logger';
import { DEFAULT_TARGET_LIMITS, SessionParameters, TargetLimits } from './negotiation';
import { IscsiSession, IscsiTask, SessionType, sessionKey } from './session';
import { IscsiTargetDefinition, Portal, validateIscsiName } from './target';
import { TextPairs } from './textParameters';

export interface IscsiServerOptions {
  portals: Portal[];
  limits?: Partial<TargetLimits>;
  /** Commands the initiator may have outstanding per session (CmdSN window). */
  queueDepth?: number;
  /** Idle time before we ping the initiator with a NOP-In. */
  nopIntervalMs?: number;
  /** Time the initiator has to answer a ping before the connection is dropped. */
  nopTimeoutMs?: number;
  /** Time a connection may stay in login. */
  loginTimeoutMs?: number;
  /** Largest Data-Out one command may carry (bytes); larger writes are refused before any allocation. */
  maxTaskBytes?: number;
  /** CHAP for discovery sessions (otherwise discovery is open). */
  discoveryChap?: ChapCredentials;
  logger?: Logger;
}

export interface RegisteredTarget {
  definition: IscsiTargetDefinition;
  portalGroupTags: number[];
}

export interface SessionRequest {
  initiatorName: string;
  isid: string;
  tsih: number;
  type: SessionType;
  target: RegisteredTarget | null;
  params: SessionParameters;
  cmdSn: number;
}

export class ConfigurationError extends Error {}

export class IscsiServer {
  readonly limits: TargetLimits;
  readonly discoveryChap?: ChapCredentials;
  readonly nopIntervalMs: number;
  readonly nopTimeoutMs: number;
  readonly loginTimeoutMs: number;
  readonly maxTaskBytes: number;
  private readonly queueDepth: number;
  private readonly log: Logger;
  private readonly portals: Portal[];
  private readonly listeners: net.Server[] = [];
  private readonly targets = new Map<string, RegisteredTarget>();
  private readonly sessions = new Map<string, IscsiSession>();
  private readonly sessionsByTsih = new Map<number, IscsiSession>();
  private readonly connections = new Set<IscsiConnection>();
  private readonly knownNexus = new Map<string, ItNexus>();
  private connectionIds = 0;
  private nextTsih = 1;

  constructor(options: IscsiServerOptions) {
    this.limits = { ...DEFAULT_TARGET_LIMITS, ...options.limits };
    checkLimits(this.limits);
    if (options.discoveryChap) checkChap(options.discoveryChap, 'discovery');
    this.discoveryChap = options.discoveryChap;
    this.queueDepth = options.queueDepth ?? 128;
    this.nopIntervalMs = options.nopIntervalMs ?? 10_000;
    this.nopTimeoutMs = options.nopTimeoutMs ?? 15_000;
    this.loginTimeoutMs = options.loginTimeoutMs ?? 15_000;
    this.maxTaskBytes = options.maxTaskBytes ?? 32 * 1024 * 1024;
    this.log = options.logger ?? silentLogger;
    if (options.portals.length === 0) throw new ConfigurationError('at least one portal (--listen) is needed');
    this.portals = options.portals;
  }

  nextConnectionId(): number {
    return ++this.connectionIds;
  }

  /** Portal group tags in use, ascending. */
  portalGroupTags(): number[] {
    return [...new Set(this.portals.map((p) => p.portalGroupTag))].sort((a, b) => a - b);
  }

  addTarget(definition: IscsiTargetDefinition): void {
    const problem = validateIscsiName(definition.name);
    if (problem) throw new ConfigurationError(problem);
    const key = definition.name.toLowerCase();
    if (this.targets.has(key)) throw new ConfigurationError(`target ${definition.name} is defined twice`);
    if (definition.chap) checkChap(definition.chap, definition.name);
    const all = this.portalGroupTags();
    const tags = definition.portalGroupTags ?? all;
    for (const t of tags) if (!all.includes(t)) throw new ConfigurationError(`target ${definition.name}: no portal has group tag ${t}`);
    const registered: RegisteredTarget = { definition, portalGroupTags: tags };
    definition.device.setTaskAborter((lun, nexusIds) => this.abortTasksOf(registered, lun, nexusIds));
    // One target port per portal group, its relative port id the tag (as the nexus and VPD 0x83 say).
    definition.device.setTargetPortGroups?.(tags.map((tag) => ({ id: tag, relativeTargetPortIds: [tag] })));
    this.targets.set(key, registered);
  }

  /** Removes a target and ends its sessions. */
  removeTarget(name: string): boolean {
    const target = this.targets.get(name.toLowerCase());
    if (!target) return false;
    this.targets.delete(name.toLowerCase());
    for (const s of this.sessionsOfTarget(target)) for (const c of s.connections) c.close();
    return true;
  }

  findTarget(name: string): RegisteredTarget | undefined {
    return this.targets.get(name.toLowerCase());
  }

  async start(): Promise<void> {
    for (const portal of this.portals) {
      const server = createReadBufferServer((socket) => this.accept(socket, portal));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : err.message;
          reject(new ConfigurationError(`cannot listen on ${formatHostPort(portal.host, portal.port)}: ${why}`));
        });
        server.listen({ host: portal.host, port: portal.port, backlog: 1024 }, () => resolve());
      }).catch(async (err) => {
        await this.stop();
        throw err;
      });
      server.on('error', (err) => this.log.error({ err: err.message }, 'listener error'));
      this.listeners.push(server);
      const addr = server.address() as net.AddressInfo;
      portal.port = addr.port; // resolves port 0 to the one the kernel chose
    }
  }

  /** Addresses actually listened on (port 0 resolved). */
  listening(): Portal[] {
    return this.portals.map((p) => ({ ...p }));
  }

  /** Asks initiators to log out, then closes everything. */
  async stop(graceMs = 1000): Promise<void> {
    for (const l of this.listeners) l.close();
    this.listeners.length = 0;
    const conns = [...this.connections];
    for (const c of conns) c.requestLogout(0);
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    for (const c of [...this.connections]) c.close();
  }

  private accept(accepted: net.Socket, portal: Portal): void {
    // Reads land in one buffer per connection (no 64 KiB allocation per read); the PDU reader copies what it keeps.
    const route: ReadRoute = { to: () => undefined };
    const socket = adoptWithReadBuffer(accepted, route);
    const conn = new IscsiConnection(socket, this, portal.portalGroupTag, this.log);
    route.to = (chunk) => conn.receive(chunk);
    this.connections.add(conn);
    this.log.debug({ conn: conn.id, remote: conn.remote }, 'connection accepted');
  }

  sessionByTsih(tsih: number): IscsiSession | undefined {
    return this.sessionsByTsih.get(tsih);
  }

  sessionsOfTarget(target: RegisteredTarget): IscsiSession[] {
    return [...this.sessions.values()].filter((s) => s.target === target);
  }

  /** Creates, reinstates or joins a session at the end of login. */
  bindSession(conn: IscsiConnection, req: SessionRequest): IscsiSession {
    if (req.tsih !== 0) {
      const existing = this.sessionsByTsih.get(req.tsih);
      if (!existing) throw new Error(`session ${req.tsih} vanished during login`);
      // Connection reinstatement: the old connection with this CID goes away.
      for (const c of existing.connections) if (c.cid === conn.cid) c.close();
      existing.connections.add(conn);
      return existing;
    }
    const key = sessionKey(req.initiatorName, req.isid, req.target?.definition.name ?? '');
    const old = this.sessions.get(key);
    if (old) {
      // Session reinstatement: same initiator port and target, TSIH 0 — the old session ends now.
      this.log.info({ tsih: old.tsih, initiator: req.initiatorName }, 'session reinstatement: closing the old session');
      this.endSession(old);
    }
    const tsih = this.allocateTsih();
    let nexus: ItNexus | null = null;
    if (req.type === 'Normal' && req.target) {
      nexus = this.nexusFor(req.initiatorName, req.isid, req.target, conn.portalGroupTag);
    }
    const session = new IscsiSession(tsih, req.isid, req.initiatorName, req.type, req.target, req.params, nexus, req.cmdSn, this.queueDepth,
      (task: IscsiTask) => task.connection.startTask(task));
    session.connections.add(conn);
    this.sessions.set(key, session);
    this.sessionsByTsih.set(tsih, session);
    return session;
  }

  private nexusFor(initiatorName: string, isid: string, target: RegisteredTarget, tpgt: number): ItNexus {
    const targetName = target.definition.name;
    const initiatorPortName = `${initiatorName},i,0x${isid}`;
    const targetPortName = `${targetName},t,0x${tpgt.toString(16).padStart(4, '0')}`;
    const id = `${initiatorPortName.toLowerCase()}|${targetPortName.toLowerCase()}`;
    const known = this.knownNexus.get(id);
    if (known) return known;
    const nexus: ItNexus = { id, initiatorName, initiatorPortName, targetName, targetPortName, relativeTargetPortId: tpgt, targetPortGroupId: tpgt };
    this.knownNexus.set(id, nexus);
    target.definition.device.nexusLoggedIn(nexus);
    return nexus;
  }

  private allocateTsih(): number {
    for (let i = 0; i < 65535; i++) {
      const t = this.nextTsih;
      this.nextTsih = this.nextTsih >= 0xffff ? 1 : this.nextTsih + 1;
      if (!this.sessionsByTsih.has(t)) return t;
    }
    throw new Error('no free session handle (65535 sessions open)');
  }

  private endSession(session: IscsiSession): void {
    this.nexusEnded(session);
    this.sessions.delete(session.key);
    this.sessionsByTsih.delete(session.tsih);
    for (const c of [...session.connections]) c.close();
    session.connections.clear();
  }

  /** I_T nexus loss: the SCSI layer drops what belongs to it (RESERVE(6), PR nexus state). */
  private nexusEnded(session: IscsiSession): void {
    if (session.nexus) session.target?.definition.device.nexusLost(session.nexus);
  }

  /** PREEMPT AND ABORT: every task of the preempted nexuses on that LUN ends without a response. */
  private abortTasksOf(target: RegisteredTarget, lun: number, nexusIds: readonly string[]): void {
    const ids = new Set(nexusIds);
    for (const s of this.sessionsOfTarget(target)) {
      if (!s.nexus || !ids.has(s.nexus.id)) continue;
      for (const t of [...s.tasks.values()]) if (t.lun === lun && !t.finished) t.connection.abortTask(t);
    }
  }

  connectionClosed(conn: IscsiConnection, session: IscsiSession | null): void {
    this.connections.delete(conn);
    if (!session) return;
    session.connections.delete(conn);
    if (session.connections.size === 0 && this.sessionsByTsih.get(session.tsih) === session) {
      this.nexusEnded(session);
      this.sessions.delete(session.key);
      this.sessionsByTsih.delete(session.tsih);
    }
  }

  /** SendTargets answer: every target (discovery, "All"), a named one, or the session's own (empty value). */
  sendTargets(value: string, conn: IscsiConnection, session: IscsiSession): TextPairs {
    let targets: RegisteredTarget[];
    if (value === 'All') {
      targets = session.type === 'Discovery' ? [...this.targets.values()] : session.target ? [session.target] : [];
    } else if (value === '') {
      targets = session.target ? [session.target] : [];
    } else {
      const t = this.findTarget(value);
      targets = t ? [t] : [];
    }
    const out: TextPairs = [];
    for (const t of targets) {
      out.push(['TargetName', t.definition.name]);
      for (const p of this.portals) {
        if (!t.portalGroupTags.includes(p.portalGroupTag)) continue;
        const host = isWildcard(p.host) ? conn.localAddress() : p.host;
        out.push(['TargetAddress', `${formatHostPort(host, p.port)},${p.portalGroupTag}`]);
      }
    }
    return out;
  }

  stats(): { sessions: number; connections: number } {
    return { sessions: this.sessions.size, connections: this.connections.size };
  }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkLimits(l: TargetLimits): void {
  const inRange = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!inRange(l.maxRecvDataSegmentLength, 512, 16777215)) throw new ConfigurationError('MaxRecvDataSegmentLength must be 512..16777215');
  // Our limits must not undercut RFC defaults, which apply whenever an initiator does not negotiate a key.
  if (!inRange(l.maxBurstLength, 262144, 16777215)) throw new ConfigurationError('MaxBurstLength must be 262144..16777215');
  if (!inRange(l.firstBurstLength, 65536, l.maxBurstLength)) throw new ConfigurationError('FirstBurstLength must be 65536..MaxBurstLength');
  if (!inRange(l.maxOutstandingR2T, 1, 65535)) throw new ConfigurationError('MaxOutstandingR2T must be 1..65535');
}

function checkChap(c: ChapCredentials, what: string): void {
  if (!c.username) throw new ConfigurationError(`${what}: CHAP user name is empty`);
  if (c.secret.length < MIN_CHAP_SECRET_LENGTH) {
    throw new ConfigurationError(`${what}: CHAP secret must be at least ${MIN_CHAP_SECRET_LENGTH} characters (RFC 7143)`);
  }
  if (c.mutualUsername !== undefined || c.mutualSecret !== undefined) {
    if (!c.mutualUsername || !c.mutualSecret) throw new ConfigurationError(`${what}: mutual CHAP needs both a user name and a secret`);
    if (c.mutualSecret.length < MIN_CHAP_SECRET_LENGTH) throw new ConfigurationError(`${what}: mutual CHAP secret must be at least ${MIN_CHAP_SECRET_LENGTH} characters`);
    if (c.mutualSecret === c.secret) throw new ConfigurationError(`${what}: mutual CHAP secret must differ from the initiator secret`);
  }
}
