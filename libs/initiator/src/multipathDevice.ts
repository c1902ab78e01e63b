/**
 * One LU over several iSCSI paths (MPIO). Every path must present the same LU (VPD 0x83 NAA designators), or the
 * device refuses to open. A policy picks the path of each command among the usable ones — connected, and in an
 * active ALUA state, active/optimized preferred over active/non-optimized. A command whose path fails is re-issued
 * on another; the failed path reconnects in the background with bounded backoff. Unit attentions are retried;
 * ALUA sense (2A/06, 04/0A-0C), SCSI async events and a timer refresh the access states with REPORT TARGET PORT
 * GROUPS. A command fails to the caller only when no path completes it before the I/O deadline.
 */
import { EventEmitter } from 'events';
import { randomBytes } from 'crypto';
import { inquiry, operationName, reportTargetPortGroups } from './cdb';
import { InitiatorSession, LoginError, PathFailedError, ScsiResult, SessionOptions } from './initiatorSession';
import { IscsiUrl, describeIscsiUrl, parseIscsiUrl } from './iscsiUrl';
import { ExecuteOptions, ScsiDevice, UNIT_ATTENTION_RETRIES, sessionOptionsFor } from './scsiDevice';
import { AsymmetricAccessState, parseDeviceIdentification, parseStandardInquiry, parseTargetPortGroups } from './scsiData';
import { AscAscq, ScsiCommandError, ScsiStatus, SenseKey, ascAscq } from './sense';

export type PathPolicy = 'failover' | 'round-robin' | 'least-queue-depth';
export const PATH_POLICIES: readonly PathPolicy[] = ['failover', 'round-robin', 'least-queue-depth'];

/** Connection state of a path: `refused` means it reached a different LU and is never used. */
export type PathState = 'connecting' | 'up' | 'failed' | 'refused' | 'closed';

export interface MultipathOptions extends Omit<SessionOptions, 'host' | 'port' | 'targetName' | 'isid'> {
  policy?: PathPolicy;
  /** A command that no path completes within this fails to the caller (default 30 s). */
  ioDeadlineMs?: number;
  /** Refresh ALUA states this often (default 10 s; 0: only on sense and events). */
  aluaRefreshMs?: number;
  /** How long to wait before retrying while no path is active (e.g. all transitioning). Default 200 ms. */
  transitionRetryMs?: number;
  /** First reconnect delay of a failed path; doubles per attempt up to reconnectMaxMs (defaults 100 ms, 5 s). */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** failover policy: go back to a preferred path as soon as it is usable again (default), or stay. */
  failback?: 'immediate' | 'manual';
}

export interface PathStatus {
  index: number;
  /** The path's URL without secrets. */
  url: string;
  state: PathState;
  access: AsymmetricAccessState | 'unknown';
  usable: boolean;
  targetPortGroup?: number;
  relativeTargetPort?: number;
  inFlight: number;
  /** Commands completed through the path (SCSI status of any kind). */
  commands: number;
  bytesRead: number;
  bytesWritten: number;
  /** Commands that failed on the path (connection lost, timed out). */
  errors: number;
  /** Commands re-issued on another path after failing on this one. */
  failovers: number;
  /** Successful logins after the first. */
  reconnects: number;
  lastError?: string;
}

export interface PathStateEvent {
  path: PathStatus;
  from: string;
  to: string;
  reason?: string;
}

export interface FailoverEvent {
  from: PathStatus;
  to: PathStatus;
  /** From the failure of `from` to the first command completed on `to` instead. */
  elapsedMs: number;
  operation: string;
}

export class NoPathError extends Error {}
export class IdentityMismatchError extends Error {}

const DEFAULTS = {
  policy: 'round-robin' as PathPolicy,
  ioDeadlineMs: 30000,
  aluaRefreshMs: 10000,
  transitionRetryMs: 200,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5000,
  failback: 'immediate' as 'immediate' | 'manual',
  commandTimeoutMs: 10000,
};

const BUSY_RETRY_MS = 20;
const NOT_ACTIVE_TIER = 2;

class Path {
  state: PathState = 'connecting';
  access: AsymmetricAccessState | 'unknown' = 'unknown';
  session: InitiatorSession | null = null;
  readonly isid = Buffer.concat([Buffer.from([0x80]), randomBytes(5)]);
  aluaSupported = false;
  targetPortGroup?: number;
  relativeTargetPort?: number;
  commands = 0;
  bytesRead = 0;
  bytesWritten = 0;
  errors = 0;
  failovers = 0;
  reconnects = 0;
  logins = 0;
  lastError?: string;
  failedAt = 0;
  /** A failure whose first failover has not been reported yet. */
  failoverPending = false;
  reconnectAttempt = 0;
  reconnectTimer: NodeJS.Timeout | null = null;

  constructor(readonly index: number, readonly url: IscsiUrl) {}

  /** 0 active/optimized, 1 active/non-optimized, 2 not usable. */
  get tier(): number {
    if (this.state !== 'up' || this.session === null) return NOT_ACTIVE_TIER;
    switch (this.access) {
      case 'active/optimized':
        return 0;
      case 'active/non-optimized':
      case 'logical-block-dependent':
        return 1;
      default:
        return NOT_ACTIVE_TIER;
    }
  }

  status(): PathStatus {
    return {
      index: this.index,
      url: describeIscsiUrl(this.url),
      state: this.state,
      access: this.access,
      usable: this.tier < NOT_ACTIVE_TIER,
      targetPortGroup: this.targetPortGroup,
      relativeTargetPort: this.relativeTargetPort,
      inFlight: this.session?.inFlight ?? 0,
      commands: this.commands,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      errors: this.errors,
      failovers: this.failovers,
      reconnects: this.reconnects,
      lastError: this.lastError,
    };
  }
}

export class MultipathDevice extends ScsiDevice {
  readonly events = new EventEmitter();
  private readonly options: typeof DEFAULTS & MultipathOptions;
  private readonly pathList: Path[];
  private identity: { naa: string[]; from: number } | null = null;
  private closed = false;
  private rotor = 0;
  private active: Path | null = null;
  private waiters = new Set<() => void>();
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private lastRefreshAt = 0;
  private aluaTimer: NodeJS.Timeout | null = null;

  private constructor(urls: IscsiUrl[], options: MultipathOptions) {
    super();
    this.options = { ...DEFAULTS, ...stripUndefined(options) };
    this.pathList = urls.map((u, i) => new Path(i, u));
  }

  /**
   * Opens every path (those that cannot connect now keep trying in the background), checks they present one LU,
   * learns the ALUA states and the capacity. Throws IdentityMismatchError or NoPathError with nothing left open.
   */
  static async open(urls: Array<string | IscsiUrl>, options: MultipathOptions = {}): Promise<MultipathDevice> {
    if (urls.length === 0) throw new RangeError('a multipath device needs at least one path');
    const policy = options.policy ?? DEFAULTS.policy;
    if (!PATH_POLICIES.includes(policy)) throw new RangeError(`unknown path policy "${policy}" (${PATH_POLICIES.join(', ')})`);
    const device = new MultipathDevice(urls.map((u) => (typeof u === 'string' ? parseIscsiUrl(u) : u)), options);
    await Promise.all(device.pathList.map((p) => device.connectPath(p)));
    const refused = device.pathList.filter((p) => p.state === 'refused');
    if (refused.length > 0) {
      await device.close();
      throw new IdentityMismatchError(`paths do not present the same LU: ${refused.map((p) => `${describeIscsiUrl(p.url)}: ${p.lastError}`).join('; ')}`);
    }
    if (!device.pathList.some((p) => p.state === 'up')) {
      await device.close();
      throw new NoPathError(`no path could be opened: ${device.pathList.map((p) => `${describeIscsiUrl(p.url)}: ${p.lastError}`).join('; ')}`);
    }
    try {
      await device.readCapacity16();
    } catch (err) {
      await device.close();
      throw err;
    }
    if (device.options.aluaRefreshMs > 0) {
      device.aluaTimer = setInterval(() => void device.refreshAccessStates(), device.options.aluaRefreshMs);
      device.aluaTimer.unref();
    }
    return device;
  }

  get policy(): PathPolicy {
    return this.options.policy;
  }

  /** Every path's state and counters, in configuration order. */
  paths(): PathStatus[] {
    return this.pathList.map((p) => p.status());
  }

  /** The live session of a path, if it is connected (tests and tools send commands through one path with it). */
  sessionOf(index: number): InitiatorSession | null {
    return this.pathList[index]?.session ?? null;
  }

  /** Subscribe: 'path-state' (PathStateEvent), 'access-state' (PathStateEvent), 'failover' (FailoverEvent). */
  on(event: 'path-state' | 'access-state', listener: (e: PathStateEvent) => void): this;
  on(event: 'failover', listener: (e: FailoverEvent) => void): this;
  on(event: string, listener: (e: any) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off(event: string, listener: (e: any) => void): this {
    this.events.off(event, listener);
    return this;
  }

  // ------------------------------------------------------------------ I/O

  async execute(cdb: Buffer, options: ExecuteOptions = {}): Promise<ScsiResult> {
    const deadline = Date.now() + this.options.ioDeadlineMs;
    let failedFrom: Path | null = null;
    let unitAttentions = 0;
    let notActive = 0;
    let lastProblem = '';
    for (;;) {
      if (this.closed) throw new NoPathError('multipath device closed');
      const path = this.select();
      if (!path) {
        if (!(await this.waitForPath(deadline))) {
          throw new NoPathError(`${operationName(cdb)}: no usable path within ${this.options.ioDeadlineMs} ms${lastProblem ? ` (last: ${lastProblem})` : ''}; paths: ${this.describePaths()}`);
        }
        continue;
      }
      const session = path.session!;
      let r: ScsiResult;
      try {
        r = await session.command(path.url.lun, cdb, options);
      } catch (err) {
        if (!(err instanceof PathFailedError)) throw err;
        path.errors++;
        path.failovers++;
        lastProblem = err.message;
        failedFrom = path;
        // The close handler normally got here first; a command can also fail on a session that is still closing.
        if (path.session === session) this.pathFailed(path, session, err);
        if (Date.now() >= deadline) throw new NoPathError(`${operationName(cdb)}: no path completed it within ${this.options.ioDeadlineMs} ms (last: ${lastProblem})`);
        continue;
      }
      path.commands++;
      path.bytesRead += r.data.length;
      if (options.dataOut) path.bytesWritten += options.dataOut.length;

      if (r.status === ScsiStatus.CheckCondition && r.sense) {
        const code = ascAscq(r.sense);
        if (r.sense.key === SenseKey.UnitAttention && unitAttentions < UNIT_ATTENTION_RETRIES * 2 && Date.now() < deadline) {
          unitAttentions++;
          if (code === AscAscq.AsymmetricAccessStateChanged || code === AscAscq.ImplicitAsymmetricAccessStateTransitionFailed || code === AscAscq.PowerOnOrReset) {
            void this.refreshAccessStates();
          }
          continue;
        }
        if (r.sense.key === SenseKey.NotReady && (code === AscAscq.AluaTransitioning || code === AscAscq.AluaStandby || code === AscAscq.AluaUnavailable) && Date.now() < deadline) {
          lastProblem = `${describePath(path)}: ${code === AscAscq.AluaTransitioning ? 'transitioning' : code === AscAscq.AluaStandby ? 'standby' : 'unavailable'}`;
          this.setAccess(path, code === AscAscq.AluaTransitioning ? 'transitioning' : code === AscAscq.AluaStandby ? 'standby' : 'unavailable', 'sense');
          void this.refreshAccessStates();
          // Another path at once; a target that keeps contradicting its own REPORT TARGET PORT GROUPS gets paced.
          if (++notActive > this.pathList.length) await delay(this.options.transitionRetryMs);
          continue;
        }
      } else if ((r.status === ScsiStatus.Busy || r.status === ScsiStatus.TaskSetFull) && Date.now() + BUSY_RETRY_MS < deadline) {
        await delay(BUSY_RETRY_MS);
        continue;
      }
      if (failedFrom && failedFrom !== path && failedFrom.failoverPending) {
        failedFrom.failoverPending = false;
        this.events.emit('failover', { from: failedFrom.status(), to: path.status(), elapsedMs: Date.now() - failedFrom.failedAt, operation: operationName(cdb) } satisfies FailoverEvent);
      }
      return r;
    }
  }

  /** The path for the next command, or null when none is usable. Allocates nothing. */
  private select(): Path | null {
    const paths = this.pathList;
    const n = paths.length;
    let best = NOT_ACTIVE_TIER;
    for (let i = 0; i < n; i++) if (paths[i].tier < best) best = paths[i].tier;
    if (best === NOT_ACTIVE_TIER) return null;
    switch (this.options.policy) {
      case 'failover': {
        const current = this.active;
        if (this.options.failback === 'manual' && current && current.tier === best) return current;
        for (let i = 0; i < n; i++) {
          if (paths[i].tier === best) {
            this.active = paths[i];
            return paths[i];
          }
        }
        return null;
      }
      case 'round-robin': {
        for (let i = 0; i < n; i++) {
          const p = paths[(this.rotor + i) % n];
          if (p.tier === best) {
            this.rotor = (p.index + 1) % n;
            return p;
          }
        }
        return null;
      }
      case 'least-queue-depth': {
        // Fewest commands in flight; ties go round the paths so equal load spreads.
        let chosen: Path | null = null;
        for (let i = 0; i < n; i++) {
          const p = paths[(this.rotor + i) % n];
          if (p.tier === best && (chosen === null || p.session!.inFlight < chosen.session!.inFlight)) chosen = p;
        }
        if (chosen) this.rotor = (chosen.index + 1) % n;
        return chosen;
      }
    }
  }

  /** Waits until a path may be usable (or a short while, to re-check); false once past the deadline. */
  private waitForPath(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0 || this.closed) return Promise.resolve(false);
    // Paths that are up but not active (standby, transitioning) may change state: ask again, paced.
    if (this.pathList.some((p) => p.state === 'up') && Date.now() - this.lastRefreshAt >= this.options.transitionRetryMs) {
      void this.refreshAccessStates();
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(!this.closed && Date.now() < deadline);
      };
      const timer = setTimeout(wake, Math.min(left, this.options.transitionRetryMs));
      this.waiters.add(wake);
    });
  }

  private wakeWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }

  // ------------------------------------------------------------------ paths

  private async connectPath(path: Path): Promise<void> {
    path.reconnectTimer = null;
    if (this.closed) return;
    this.setState(path, 'connecting');
    let session: InitiatorSession | null = null;
    try {
      session = await InitiatorSession.connect({ ...sessionOptionsFor(path.url, this.options), isid: path.isid });
      if (this.closed) {
        session.destroy('multipath device closed');
        return;
      }
      const lun = path.url.lun;
      const std = parseStandardInquiry((await runGood(session, lun, inquiry(false, 0, 255), 255)).data);
      const id = parseDeviceIdentification((await runGood(session, lun, inquiry(true, 0x83, 4096), 4096)).data);
      const mismatch = this.checkIdentity(path, id.naa);
      if (mismatch) {
        await session.logout(1000);
        path.lastError = mismatch;
        this.setState(path, 'refused', mismatch);
        return;
      }
      path.aluaSupported = std.tpgs !== 0;
      path.targetPortGroup = id.targetPortGroup;
      path.relativeTargetPort = id.relativeTargetPort;
      await this.refreshPath(path, session);
      if (this.closed || session.phase !== 'full-feature') throw session.closeReason ?? new PathFailedError('session closed during path set-up');
      path.session = session;
      const s = session;
      s.on('close', (err: Error) => this.pathFailed(path, s, err));
      s.on('logout-requested', () => this.retirePath(path, s, 'the target asked for logout'));
      s.on('drop-requested', () => this.retirePath(path, s, 'the target announced it drops the connection'));
      s.on('scsi-event', () => void this.refreshAccessStates());
      path.reconnectAttempt = 0;
      if (path.logins++ > 0) path.reconnects++;
      path.lastError = undefined;
      this.setState(path, 'up');
      this.wakeWaiters();
    } catch (err) {
      session?.destroy('path set-up failed');
      if (this.closed) return;
      path.lastError = (err as Error).message;
      this.setState(path, 'failed', path.lastError);
      this.scheduleReconnect(path, err);
    }
  }

  /** Null when the path presents our LU (the first path to connect sets what "our LU" is), else why not. */
  private checkIdentity(path: Path, naa: string[]): string | null {
    if (naa.length === 0) return 'the LU reports no NAA designator in VPD page 0x83';
    if (!this.identity) {
      this.identity = { naa, from: path.index };
      return null;
    }
    if (naa.some((d) => this.identity!.naa.includes(d))) return null;
    return `LU NAA ${naa.join(',')} differs from ${this.identity.naa.join(',')} seen through ${describeIscsiUrl(this.pathList[this.identity.from].url)}`;
  }

  private pathFailed(path: Path, session: InitiatorSession, err: Error, destroy = true): void {
    if (path.session !== session) return;
    path.session = null;
    if (this.active === path) this.active = null;
    if (this.closed) {
      this.setState(path, 'closed');
      return;
    }
    if (destroy) session.destroy();
    path.failedAt = Date.now();
    path.failoverPending = true;
    path.lastError = err.message;
    this.setState(path, 'failed', err.message);
    this.scheduleReconnect(path, err);
  }

  /** The target wants the connection gone: stop using it, log out, reconnect later. */
  private retirePath(path: Path, session: InitiatorSession, why: string): void {
    if (path.session !== session) return;
    this.pathFailed(path, session, new PathFailedError(why), false);
    void session.logout(1000);
  }

  private scheduleReconnect(path: Path, err: unknown): void {
    if (this.closed || path.reconnectTimer) return;
    const o = this.options;
    // Authentication and the like will not cure themselves quickly: wait the longest.
    const attempt = err instanceof LoginError && err.permanent ? 30 : path.reconnectAttempt++;
    const wait = Math.min(o.reconnectMaxMs, o.reconnectInitialMs * 2 ** Math.min(attempt, 30));
    path.reconnectTimer = setTimeout(() => void this.connectPath(path), wait);
    path.reconnectTimer.unref();
  }

  private setState(path: Path, state: PathState, reason?: string): void {
    if (path.state === state) return;
    const from = path.state;
    path.state = state;
    this.events.emit('path-state', { path: path.status(), from, to: state, reason } satisfies PathStateEvent);
  }

  private setAccess(path: Path, access: AsymmetricAccessState | 'unknown', reason: string): void {
    if (path.access === access) return;
    const from = path.access;
    path.access = access;
    this.events.emit('access-state', { path: path.status(), from, to: access, reason } satisfies PathStateEvent);
    if (path.tier < NOT_ACTIVE_TIER) this.wakeWaiters();
  }

  // ------------------------------------------------------------------ ALUA

  /** REPORT TARGET PORT GROUPS through every connected path (coalesced: one round at a time, one more if asked meanwhile). */
  refreshAccessStates(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.refreshAgain = false;
          this.lastRefreshAt = Date.now();
          await Promise.all(this.pathList.map((p) => (p.session && p.state === 'up' ? this.refreshPath(p, p.session) : undefined)));
        } while (this.refreshAgain && !this.closed);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Learns the access state of the path's own target port group, asking through the path itself. */
  private async refreshPath(path: Path, session: InitiatorSession): Promise<void> {
    if (!path.aluaSupported) {
      this.setAccess(path, 'active/optimized', 'no ALUA');
      return;
    }
    for (let attempt = 0; attempt < UNIT_ATTENTION_RETRIES; attempt++) {
      let r: ScsiResult;
      try {
        r = await session.command(path.url.lun, reportTargetPortGroups(4096), { readLength: 4096 });
      } catch {
        return; // the path failed: its close handler deals with it
      }
      if (r.status === ScsiStatus.Good) {
        const groups = parseTargetPortGroups(r.data);
        const own = groups.find((g) => g.groupId === path.targetPortGroup)
          ?? groups.find((g) => path.relativeTargetPort !== undefined && g.relativeTargetPorts.includes(path.relativeTargetPort))
          ?? (groups.length === 1 ? groups[0] : undefined);
        this.setAccess(path, own ? own.state : 'active/optimized', 'REPORT TARGET PORT GROUPS');
        return;
      }
      if (r.status === ScsiStatus.CheckCondition && r.sense?.key === SenseKey.UnitAttention) continue;
      if (r.status === ScsiStatus.CheckCondition && r.sense?.key === SenseKey.IllegalRequest) {
        path.aluaSupported = false;
        this.setAccess(path, 'active/optimized', 'REPORT TARGET PORT GROUPS not supported');
      }
      return;
    }
  }

  // ------------------------------------------------------------------ teardown

  /** Logs every path out (bounded) and stops reconnecting; pending commands fail with NoPathError. */
  async close(timeoutMs = 3000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.aluaTimer) clearInterval(this.aluaTimer);
    this.aluaTimer = null;
    this.wakeWaiters();
    await Promise.all(this.pathList.map(async (p) => {
      if (p.reconnectTimer) clearTimeout(p.reconnectTimer);
      p.reconnectTimer = null;
      const s = p.session;
      p.session = null;
      if (s) await s.logout(timeoutMs);
      this.setState(p, p.state === 'refused' ? 'refused' : 'closed');
    }));
  }

  private describePaths(): string {
    return this.pathList.map((p) => `${describePath(p)} ${p.state}/${p.access}${p.lastError ? ` (${p.lastError})` : ''}`).join('; ');
  }
}

function describePath(p: Path): string {
  return `#${p.index} ${p.url.host}:${p.url.port}`;
}

/** A command during path set-up: retried through unit attentions, must end GOOD. */
async function runGood(session: InitiatorSession, lun: number, cdb: Buffer, readLength: number): Promise<ScsiResult> {
  let r = await session.command(lun, cdb, { readLength });
  for (let i = 0; i < UNIT_ATTENTION_RETRIES && r.status === ScsiStatus.CheckCondition && r.sense?.key === SenseKey.UnitAttention; i++) {
    r = await session.command(lun, cdb, { readLength });
  }
  if (r.status !== ScsiStatus.Good) throw new ScsiCommandError(operationName(cdb), r.status, r.sense);
  return r;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
