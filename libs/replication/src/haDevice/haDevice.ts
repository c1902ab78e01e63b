/**
 * One replica of a HA device: the local store mirrored synchronously to one or two partners over the sync channel.
 *
 * - The group: every replica keeps, per partner, whether the partner is a member of its group (persisted). Members
 *   hold every acknowledged write; a replica serves only while it is a member and reaches every other member.
 * - Writes (WRITE, WRITE SAME, UNMAP, COMPARE AND WRITE, XCOPY) are applied locally and on every partner that
 *   receives them (members, and replicas being resynced) before GOOD; reads are local. Writers hold `lock`, a
 *   cluster-wide range lock whose authority is the serving member with the highest priority, so overlapping writes
 *   through different nodes land in one order everywhere and COMPARE AND WRITE is atomic cluster-wide.
 * - Dirty bitmaps, one per partner: a region is marked before a local write (durably when a bit flips). A write
 *   that did not reach a partner leaves its regions set (sticky) in that partner's bitmap — on the sender, and on
 *   a receiver when the frame says the third replica did not get it (FrameFlag.AlsoThird). So every member's
 *   bitmap for an absent replica covers everything that replica misses.
 * - A member's sync links all down (or it failed a write): one decision at a time, writes held meanwhile. Its
 *   heartbeat answers and it has the higher priority → this replica steps aside (blocks). Otherwise it leaves the
 *   group: the other members must agree (a member that stepped aside or lost us refuses, and then we step aside);
 *   with node-majority, this replica also needs a majority of votes (itself, agreeing members, a partner that
 *   answers on the heartbeat with a lower priority, the witness). The group goes on under a new generation,
 *   derived from the old one and the remaining members, so members that drop the same replica agree on it.
 * - Rejoining (links back, or start-up): handshakes compare generations. The serving member with the highest
 *   priority coordinates: the other members start sending the replica their writes and report what they know it
 *   misses; the coordinator copies the union (its own data, under the cluster lock), the members commit, and the
 *   replica adopts the group's generation and serves. Diverged generations → split-brain: the side that cannot
 *   prove it is newest stays blocked until an operator chooses the survivor.
 * - In a partial partition a dropped replica's unacknowledged writes may have reached one member but not another;
 *   the member that removes it copies its own version of those recent regions to the others (repairRecent).
 */
import { EventEmitter } from 'events';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { LbaRangeLock, type AluaAccessState } from '@tandem/scsi';
import { dataBuffers, type BlockStore } from '@tandem/storage';
import { PartnerUnreachable, type PartnerChannel } from '../channel/partnerChannel';
import type { SyncNetwork } from '../channel/syncNetwork';
import { FrameFlag, FrameType, type FrameHeader } from '../protocol/frame';
import { DirtyBitmap } from '../state/dirtyBitmap';
import { GenerationStore, compareGenerations, writeAtomically } from '../state/generations';
import { askWitness } from '../witness/witness';
import { lossReason, nextGenerationId, outranks, stepsAside, tally, type Loss } from './arbitration';
import { ClusterRangeLock } from './clusterRangeLock';
import type { HaDeviceConfig } from './haConfig';
import type { HaEvent, LocalRole, PartnerState } from './haEvents';
import { Partner, readPartnerState } from './partner';
import { ACTIVITY_EXTENT_BYTES, allRegions, listRegions, markRegions, mergeRegions, unionRegions, type RegionUnion } from './regions';
import { mirrorPr, type PrNexus } from './mirroredIo';
import { ReplicatedStore } from './replicatedStore';
import { decodeState, encodeState, stateReplies, type DropRequest, type JoinPrepareAnswer, type PeerState, type ResyncDone, type StateMessage, type Verdict } from './stateMessages';

const DEFAULT_REGION_BYTES = 64 * 1024;
/** Copies a resync keeps in flight at once. */
const RESYNC_IN_FLIGHT = 8;
/** Adjacent dirty regions a resync sends as one copy (one lock, one read, one frame): up to this many bytes. */
const RESYNC_CHUNK_BYTES = 1 * 1024 * 1024;
/**
 * Bytes a resync copies before it asks the target to make them durable, in the background while the copy goes on.
 * The target's disk then writes while the network copies, rather than everything in one flush at the end (measured:
 * 1 GiB copied in 1.0 s, then 0.4 s of final flush).
 */
const RESYNC_FLUSH_BYTES = 64 * 1024 * 1024;
/** Extents written by a partner are remembered this long (two windows) for repairRecent. */
const RECENT_WINDOW_MS = 5000;
/**
 * After a partner fell silent, writes resume without it no sooner than this long after it was last heard: it
 * declares us dead after the link's deadAfter (1 s) and holds its I/O from then on; the rest is margin.
 */
const FENCE_MS = 1500;
/** How long a closing replica waits for each partner to acknowledge that it is leaving. */
const LEAVE_NOTICE_MS = 1000;

/** The LU's reservation state as the device moves it: partner PR OUTs applied here, and the state copied at resync. */
export interface PrHooks {
  apply(op: unknown, nexus: PrNexus): Promise<void>;
  snapshot(): unknown;
  restore(snapshot: unknown): Promise<void>;
}

type Respond = (flags: number, aux: number, payload?: Buffer) => void;

export class HaDevice extends EventEmitter {
  readonly store: BlockStore;
  readonly lock: ClusterRangeLock;
  /** The node-local lock table (the authority's, when this replica is the authority). */
  readonly localLock = new LbaRangeLock();
  readonly partners: Partner[];
  role: LocalRole = 'blocked';
  blockReason = 'starting: waiting for the partners';
  /** Decisions and handshakes run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private pendingDecisions = 0;
  /** Counts role changes (see PeerState.roleSeq). */
  private roleSeq = 0;
  /**
   * A DeviceBlocked may stand with no DeviceUnblocked since. True at start: the replica opens blocked, and its previous
   * run (before a restart or a crash) may have reported DeviceBlocked last, which whoever folds the reports keeps until
   * told otherwise; so the first time this run serves it reports DeviceUnblocked.
   */
  private blockedSinceServing = true;
  private startupTimer?: NodeJS.Timeout;
  private startupOver = false;
  private sweepTimer?: NodeJS.Timeout;
  private latencyTimer?: NodeJS.Timeout;
  private recentTimer?: NodeJS.Timeout;
  private closed = false;
  /** Bytes copied by resyncs since open (for tests and benchmarks). */
  resyncedBytes = 0;
  /** How the LU's persistent reservations travel with the device (set by the host that builds the LU). */
  prHooks: PrHooks | null = null;

  private constructor(
    readonly local: BlockStore,
    readonly config: HaDeviceConfig,
    private readonly network: SyncNetwork,
    readonly generations: GenerationStore,
    partners: Partner[],
  ) {
    super();
    this.partners = partners;
    this.store = new ReplicatedStore(this);
    this.lock = new ClusterRangeLock(this);
  }

  static async open(local: BlockStore, config: HaDeviceConfig, network: SyncNetwork): Promise<HaDevice> {
    if (config.partners.length < 1 || config.partners.length > 2) throw new Error(`HA device ${config.deviceId}: one or two partners (2 or 3 replicas), got ${config.partners.length}`);
    const ids = new Set([config.localNodeId, ...config.partners.map((p) => p.nodeId)]);
    if (ids.size !== config.partners.length + 1) throw new Error(`HA device ${config.deviceId}: replica node ids must differ`);
    await fsp.mkdir(config.stateDir, { recursive: true });
    const generationFile = path.join(config.stateDir, 'generation.json');
    const knownReplica = await fsp.stat(generationFile).then(() => true, () => false);
    const generations = await GenerationStore.open(generationFile, config.initialGeneration);
    const partners: Partner[] = [];
    const regionBytes = config.regionBytes ?? DEFAULT_REGION_BYTES;
    for (const cfg of config.partners) {
      const bitmap = await DirtyBitmap.open(path.join(config.stateDir, `${cfg.nodeId}.bitmap`), {
        deviceBytes: local.sizeBytes,
        regionBytes,
        // replicateWrite marks whole extents while the partner receives: one in-flight count per extent, not 64.
        activityBytes: Math.max(regionBytes, Math.floor(ACTIVITY_EXTENT_BYTES / regionBytes) * regionBytes),
      });
      // A replica with a history but no bitmap (deleted by mistake): nothing says which regions match any more.
      if (knownReplica && bitmap.created) await bitmap.markAll();
      partners.push(new Partner(cfg, bitmap, await readPartnerState(path.join(config.stateDir, `${cfg.nodeId}.state.json`))));
    }
    const device = new HaDevice(local, config, network, generations, partners);
    device.start();
    return device;
  }

  // ---------------------------------------------------------------- state

  get accessState(): AluaAccessState {
    if (this.role === 'serving') return this.config.preferredAccessState;
    return this.role === 'resync-target' ? 'standby' : 'unavailable';
  }

  get regionBytes(): number {
    return this.partners[0].bitmap.regionBytes;
  }

  partnerById(nodeId: string): Partner | undefined {
    return this.partners.find((p) => p.nodeId === nodeId);
  }

  private members(): Partner[] {
    return this.partners.filter((p) => p.member);
  }

  /** Where writers take their range lock: here, or at the serving member with the highest priority. */
  lockAuthority(): 'local' | PartnerChannel {
    let best: Partner | null = null;
    for (const p of this.partners) {
      if (p.state !== 'synchronized' || !p.channel.connected || p.peer?.role !== 'serving') continue;
      if (!outranks(p.cfg.priority, p.nodeId, this.config.priority, this.config.localNodeId)) continue;
      if (!best || outranks(p.cfg.priority, p.nodeId, best.cfg.priority, best.nodeId)) best = p;
    }
    return best ? best.channel : 'local';
  }

  private emitEvent(event: HaEvent): void {
    this.emit('event', event);
  }

  private log(message: string): void {
    this.emit('error-log', message);
  }

  private setRole(role: LocalRole, reason: string): void {
    if (this.role === role && (role !== 'blocked' || this.blockReason === reason)) return;
    const was = this.role;
    this.role = role;
    this.roleSeq++;
    if (role === 'blocked') {
      this.blockReason = reason;
      this.blockedSinceServing = true;
      this.emitEvent({ type: 'DeviceBlocked', reason });
    } else if (was !== 'serving' && role === 'serving' && this.blockedSinceServing) {
      // Blocked, then (perhaps through a resync) serving again.
      this.blockedSinceServing = false;
      this.emitEvent({ type: 'DeviceUnblocked', reason });
    }
    this.emitEvent({ type: 'PathStateChanged', portGroup: this.config.localPortGroup, state: this.accessState });
    this.emit('access', this.accessState);
    for (const p of this.partners) if (!p.channel.connected || !p.handshaken) this.partnerOutOfReach(p);
    const body = encodeState({ kind: 'access', role: this.role, accessState: this.accessState, roleSeq: this.roleSeq });
    for (const p of this.partners) if (p.channel.connected) p.channel.notify(FrameType.State, 0, 0, 0, body);
  }

  private async setPartnerState(p: Partner, state: PartnerState, reason = ''): Promise<void> {
    const was = p.state;
    p.state = state;
    if (state !== was) {
      if (state === 'synchronized') {
        this.emitEvent({ type: 'ReplicaSynchronized', partnerNodeId: p.nodeId });
        // Together again: the witness's vote goes back (whoever holds it), ready for the next split.
        if (this.config.strategy === 'node-majority' && this.partners.every((q) => q.state === 'synchronized')) {
          void askWitness(this.config.witness ?? [], { op: 'release', deviceId: this.config.deviceId, nodeId: this.config.localNodeId });
        }
      }
      if (state === 'not-synchronized' && (was === 'synchronized' || was === 'resync-to-partner' || was === 'resync-from-partner')) {
        this.emitEvent({ type: 'ReplicaNotSynchronized', partnerNodeId: p.nodeId, reason });
      }
    }
    const durable = state === 'synchronized' ? 'synchronized' : state === 'not-synchronized' || state === 'resync-to-partner' ? 'not-synchronized' : null;
    if (durable && durable !== p.persisted.state) {
      p.persisted = { state: durable };
      await writeAtomically(path.join(this.config.stateDir, `${p.nodeId}.state.json`), JSON.stringify(p.persisted));
    }
    if (!p.channel.connected) this.partnerOutOfReach(p);
  }

  /**
   * The partner's port group while we cannot hear it (or before its handshake). A serving replica reports it
   * unavailable: the partner was dropped, or its fate is being decided with writes held. A replica that does not
   * serve only knows what the partner last said of itself, and reports that: calling a partner that likely serves
   * "unavailable" made Linux hosts, whose ALUA handler applies every group of a REPORT TARGET PORT GROUPS answer, fail
   * their one good path for seconds (the host tier's sync-cut scenario).
   */
  private partnerOutOfReach(p: Partner): void {
    this.setPartnerAccess(p, this.role === 'serving' ? 'unavailable' : (p.peer?.accessState ?? 'unavailable'));
  }

  private setPartnerAccess(p: Partner, state: AluaAccessState): void {
    if (p.accessState === state) return;
    p.accessState = state;
    this.emit('partner-access', state, p.nodeId);
  }

  /** Runs `task` after every decision and handshake queued before it. */
  private queue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch((error) => this.log(`HA ${this.config.deviceId}: ${(error as Error).message}`));
    return run;
  }

  /** Resolves once no membership decision is pending (writes wait for it: see replicateWrite). */
  async settled(): Promise<void> {
    while (this.pendingDecisions > 0 && !this.closed) await this.chain;
  }

  // ---------------------------------------------------------------- start-up and the channels

  private start(): void {
    for (const p of this.partners) {
      // A region is persisted clean only once both replicas flushed the data it covers (after a power loss a clean
      // bit is a promise that the two disks agree there).
      p.bitmap.setCleanBarrier(async () => {
        if (!p.channel.connected) throw new PartnerUnreachable(p.nodeId, 'no sync link');
        await Promise.all([this.local.flush(), p.channel.request(FrameType.Flush, 0, 0, 0)]);
      });
      p.channel.onRequest = (h, payload, respond) => this.handleRequest(p, h, payload, respond);
      p.channel.onUp = () => this.partnerConnected(p);
      p.channel.onDown = (reason) => void this.lost(p, `sync links down (${reason})`);
      this.network.register(this.config.deviceId, p.nodeId, p.cfg.sync, p.channel);
    }
    this.emit('access', this.accessState);
    // Partners missing after the start-up wait: decide without them (see startupCheck).
    this.startupTimer = setTimeout(() => {
      this.startupOver = true;
      void this.queue(() => this.startupCheck());
    }, this.config.startupWaitMs ?? 5000);
    this.sweepTimer = setInterval(() => {
      for (const p of this.partners) void p.bitmap.sweep().catch(() => undefined);
    }, 1000);
    this.sweepTimer.unref();
    this.latencyTimer = setInterval(() => this.watchLatency(), 1000);
    this.latencyTimer.unref();
    if (this.partners.length > 1) {
      this.recentTimer = setInterval(() => {
        for (const p of this.partners) {
          p.recentBefore = p.recentNow;
          p.recentNow = new Set();
        }
      }, RECENT_WINDOW_MS);
      this.recentTimer.unref();
    }
  }

  private partnerConnected(p: Partner): void {
    p.handshaken = false;
    p.leaving = false;
    this.partnerOutOfReach(p);
    if (p.state !== 'not-synchronized' && p.state !== 'split-brain') void this.setPartnerState(p, 'unknown');
    // The node with the smaller id opens the exchange; the other answers it.
    if (this.config.localNodeId < p.nodeId) void this.queue(() => this.handshake(p));
  }

  /** Asks for a new handshake with p (after it was dropped while reachable, or a join failed). */
  private rehandshake(p: Partner): void {
    if (this.closed || !p.channel.connected) return;
    if (this.config.localNodeId < p.nodeId) void this.queue(() => this.handshake(p));
    else p.channel.notify(FrameType.State, 0, 0, 0, encodeState({ kind: 'rehandshake' }));
  }

  private localState(): PeerState {
    const dirty: Record<string, number[] | null> = {};
    for (const p of this.partners) dirty[p.nodeId] = listRegions(p.bitmap);
    return {
      nodeId: this.config.localNodeId,
      priority: this.config.priority,
      generation: this.generations.state,
      dirty,
      role: this.role,
      accessState: this.accessState,
      members: this.members().map((p) => p.nodeId),
      roleSeq: this.roleSeq,
    };
  }

  /** Regions that may differ between this replica and p: every bitmap here, and every list p sent. */
  private regionsToCopy(p: Partner, peer: PeerState): RegionUnion {
    return unionRegions([...this.partners.map((q) => listRegions(q.bitmap)), ...Object.values(peer.dirty ?? {})], p.bitmap);
  }

  private async handshake(p: Partner): Promise<void> {
    if (this.closed || !p.channel.connected) return;
    try {
      const reply = await p.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'handshake', state: this.localState() }));
      await this.agree(p, stateReplies.peerState.decode(reply.payload));
    } catch (error) {
      if (!(error instanceof PartnerUnreachable)) p.channel.close(`handshake failed: ${(error as Error).message}`);
    }
  }

  /** Both sides of a handshake run this with the other's state (inside the chain). */
  private async agree(p: Partner, peer: PeerState): Promise<void> {
    // An access message sent after this state (and handled before this queued handshake) says more about its role.
    if (p.peer && p.peer.nodeId === peer.nodeId && p.peer.roleSeq > peer.roleSeq) {
      peer.role = p.peer.role;
      peer.accessState = p.peer.accessState;
      peer.roleSeq = p.peer.roleSeq;
    }
    p.peer = peer;
    p.handshaken = true;
    this.setPartnerAccess(p, peer.accessState);
    const verdict = compareGenerations(this.generations.state, peer.generation);
    if (verdict === 'diverged') return this.splitBrain(p, peer);
    if (this.role === 'serving') {
      // A replica newer than a serving one went on without it: both served.
      if (verdict === 'peer-newer') return this.splitBrain(p, peer);
      // Synchronized already (a repeated handshake): nothing changes; had it fallen behind, a decision would have dropped it.
      if (p.member && p.state === 'synchronized' && verdict === 'same') return;
      if (p.member && verdict === 'same' && peer.role === 'serving' && peer.members.includes(this.config.localNodeId) && this.regionsToCopy(p, peer).regions.length === 0) {
        await this.setPartnerState(p, 'synchronized');
        return;
      }
      // Still a member here but behind (restarted, or stepped aside): it leaves the group first, as agreed with the others.
      if (p.member) {
        await this.decide(p, 'it came back behind the group', true);
        if (this.role !== 'serving') return;
      }
      if (this.isCoordinator()) await this.startRejoin(p, peer);
      else await this.setPartnerState(p, 'not-synchronized', 'rejoining through the coordinating replica');
      return;
    }
    if (peer.role === 'serving') {
      // The group serves without us: its coordinator copies what we miss (or it is a split-brain).
      if (verdict === 'local-newer') return this.splitBrain(p, peer);
      await this.becomeResyncTarget(p);
      return;
    }
    await this.startupCheck();
  }

  /**
   * Neither this replica nor a handshaken partner serves (start-up, or every replica blocked): the newest replica
   * with the highest priority leads once every member is present — or, after the start-up wait, when the absent
   * ones cannot hold newer data (they were out of the group) or the present replicas are a majority (node-majority).
   */
  private async startupCheck(): Promise<void> {
    if (this.closed || this.role !== 'blocked' || this.partners.some((p) => p.state === 'split-brain')) return;
    if (this.partners.some((p) => p.state === 'resync-from-partner')) return;
    const present = this.partners.filter((p) => p.handshaken && p.channel.connected && p.peer);
    if (present.some((p) => p.peer!.role === 'serving')) return;
    // A replica created empty for a copy (SYNC_FROM target) never leads: it holds no data.
    if (this.generations.state.current.startsWith('empty:')) {
      if (this.startupOver) this.setRole('blocked', 'waiting for the replica holding the data (initial sync)');
      return;
    }
    for (const p of present) {
      const verdict = compareGenerations(this.generations.state, p.peer!.generation);
      if (verdict === 'peer-newer' || verdict === 'diverged') return;
      if (verdict === 'same' && outranks(p.peer!.priority, p.nodeId, this.config.priority, this.config.localNodeId)) return;
    }
    const absentMembers = this.partners.filter((p) => !present.includes(p) && p.member);
    if (absentMembers.length > 0) {
      if (!this.startupOver) return;
      const names = absentMembers.map((p) => p.nodeId).join(', ');
      const total = 1 + this.partners.length;
      if (this.config.strategy !== 'node-majority' || (1 + present.length) * 2 <= total) {
        const alive = await this.network.probeHeartbeat(absentMembers[0].cfg.heartbeat);
        this.setRole('blocked', alive ? `${names} answers on the heartbeat but no sync link is up` : `${names} may hold newer data; waiting for it`);
        return;
      }
      const next = nextGenerationId(this.generations.state.current, [this.config.localNodeId, ...this.partners.filter((p) => !absentMembers.includes(p)).map((p) => p.nodeId)]);
      for (const p of absentMembers) await this.removeMember(p, 'absent at start-up; the present replicas are a majority', next);
    }
    for (const p of this.partners) if (!present.includes(p) && p.state === 'unknown') await this.setPartnerState(p, 'not-synchronized', 'absent at start-up');
    // The present replicas join one by one as their copies end (each joining later is prepared by those before it).
    for (const p of present) if (p.member) await this.setPartnerState(p, 'resync-to-partner');
    this.setRole('serving', present.length === 0 ? 'was serving alone before the restart' : 'newest replica present');
    for (const p of present) await this.startRejoin(p, p.peer!);
  }

  // ---------------------------------------------------------------- split-brain and resync targets

  private async splitBrain(p: Partner, peer: PeerState): Promise<void> {
    await this.setPartnerState(p, 'split-brain');
    const mine = Object.values(this.localState().dirty).reduce((n, l) => n + (l?.length ?? 0), 0) * this.regionBytes;
    const theirs = peer.dirty[this.config.localNodeId];
    const evidence =
      `generations diverged: here ${this.generations.state.current} (${mine} bytes written since the split), ` +
      `partner ${peer.nodeId} ${peer.generation.current} (${(theirs === undefined || theirs === null ? p.bitmap.regionCount : theirs.length) * this.regionBytes} bytes)`;
    this.emitEvent({ type: 'SplitBrainDetected', partnerNodeId: peer.nodeId, evidence });
    const iWin = outranks(this.config.priority, this.config.localNodeId, peer.priority, peer.nodeId);
    if (!iWin || this.role !== 'serving') this.setRole('blocked', 'split-brain: an operator must choose the survivor');
  }

  private async becomeResyncTarget(p: Partner): Promise<void> {
    await this.setPartnerState(p, 'resync-from-partner');
    this.setRole('resync-target', `${p.nodeId} is newer`);
  }

  // ---------------------------------------------------------------- partner requests

  private handleRequest(p: Partner, h: FrameHeader, payload: Buffer, respond: Respond): void {
    const fail = (error: unknown) => respond(FrameFlag.Error, 0, Buffer.from((error as Error).message ?? String(error)));
    const ok = () => respond(0, 0);
    // A written payload goes back to the pool once the local store is done with it (stores keep no reference).
    const stored = () => (dataBuffers.give(payload), ok());
    const notStored = (error: unknown) => (dataBuffers.give(payload), fail(error));
    switch (h.type) {
      case FrameType.Write: {
        // Copied values: the header object is reused by the decoder.
        const { position, flags } = h;
        if (!this.acceptsWritesFrom(p)) return notStored(new Error(`${this.config.localNodeId} does not count ${p.nodeId} in its group`));
        this.applyFromPartner(p, flags, position, payload.length, () => this.local.write(payload, 0, payload.length, position, (flags & FrameFlag.Fua) !== 0)).then(stored, notStored);
        return;
      }
      case FrameType.ResyncData:
        if (this.role === 'serving') return notStored(new Error(`${this.config.localNodeId} serves: it takes no resync data`));
        this.local.write(payload, 0, payload.length, h.position, false).then(stored, notStored);
        return;
      case FrameType.Discard: {
        const discard = this.local.discard?.bind(this.local);
        if (!discard) return fail(new Error('this replica cannot deallocate'));
        if (!this.acceptsWritesFrom(p)) return fail(new Error(`${this.config.localNodeId} does not count ${p.nodeId} in its group`));
        const { position, flags } = h;
        const length = h.aux === 0 ? payload.readUIntBE(0, 6) : h.aux;
        this.applyFromPartner(p, flags, position, length, () => discard(position, length)).then(ok, fail);
        return;
      }
      case FrameType.Flush:
        this.local.flush().then(ok, fail);
        return;
      case FrameType.Lock: {
        const requestId = h.requestId;
        const granted = p.grantsByRequest.get(requestId);
        if (granted !== undefined) return respond(0, granted);
        const first = h.position;
        const blocks = h.aux;
        void this.localLock.acquire(first, blocks).then((slot) => {
          // Gone while it waited: give the range back at once.
          if (!p.channel.connected) return this.localLock.release(slot);
          p.granted.add(slot);
          p.grantsByRequest.set(requestId, slot);
          respond(0, slot);
        });
        return;
      }
      case FrameType.Unlock: {
        const slot = h.aux;
        if (p.granted.delete(slot)) {
          for (const [request, s] of p.grantsByRequest) if (s === slot) p.grantsByRequest.delete(request);
          this.localLock.release(slot);
        }
        return ok();
      }
      case FrameType.State: {
        let message: StateMessage;
        try {
          message = decodeState(payload);
        } catch (error) {
          return fail(error);
        }
        void this.handleState(p, message, respond).catch(fail);
        return;
      }
      case FrameType.PrApply: {
        // A repeat (sent again after a link died) must not register twice.
        if (p.recentPr.has(h.requestId)) return ok();
        p.recentPr.add(h.requestId);
        if (p.recentPr.size > 256) p.recentPr.delete(p.recentPr.values().next().value as number);
        let pr: { op: unknown; nexus: PrNexus };
        try {
          pr = JSON.parse(payload.toString('utf8'));
        } catch {
          return fail(new Error('unreadable reservation message'));
        }
        if (!this.prHooks) return fail(new Error('this replica has no reservations to apply to'));
        const { op, nexus } = pr;
        this.prHooks.apply(op, nexus).then(ok, fail);
        return;
      }
      default:
        return fail(new Error(`unexpected frame type ${h.type}`));
    }
  }

  /** A serving replica takes writes only from members; a replica that does not serve is a copy and takes any. */
  private acceptsWritesFrom(p: Partner): boolean {
    return this.role !== 'serving' || p.state === 'synchronized';
  }

  /**
   * Applies a partner's write. With two partners, the third replica (our other partner) may not have received it
   * (the sender says so): then its regions are recorded in that partner's bitmap, before the write, as our own
   * writes are. The extents are remembered for repairRecent.
   */
  private async applyFromPartner(p: Partner, flags: number, position: number, length: number, apply: () => Promise<void>): Promise<void> {
    if (this.partners.length === 1 || length === 0) return apply();
    const first = Math.floor(position / ACTIVITY_EXTENT_BYTES);
    const last = Math.floor((position + length - 1) / ACTIVITY_EXTENT_BYTES);
    for (let e = first; e <= last && e - first < 64; e++) p.recentNow.add(e);
    const other = this.partners[0] === p ? this.partners[1] : this.partners[0];
    if ((flags & FrameFlag.AlsoThird) !== 0) return apply();
    const marking = other.bitmap.beginWrite(position, length);
    if (marking) await marking;
    try {
      await apply();
    } finally {
      other.bitmap.endWrite(position, length, false);
    }
  }

  private async handleState(p: Partner, message: StateMessage, respond: Respond): Promise<void> {
    const done = () => respond(0, 0);
    switch (message.kind) {
      case 'handshake':
        await this.queue(async () => {
          respond(0, 0, stateReplies.peerState.encode(this.localState()));
          await this.agree(p, message.state);
        });
        return;
      case 'rehandshake':
        if (this.config.localNodeId < p.nodeId) void this.queue(() => this.handshake(p));
        return done();
      case 'access': {
        if (p.peer && message.roleSeq < p.peer.roleSeq) return done(); // older than what we know
        if (p.peer) {
          p.peer.role = message.role;
          p.peer.accessState = message.accessState;
          p.peer.roleSeq = message.roleSeq;
        }
        this.setPartnerAccess(p, message.accessState);
        return done();
      }
      case 'drop':
        return respond(0, 0, stateReplies.verdict.encode(await this.answerDrop(p, message)));
      case 'join-prepare':
        return respond(0, 0, stateReplies.joinPrepare.encode(await this.answerJoinPrepare(p, message.nodeId)));
      case 'join-commit':
        return respond(0, 0, stateReplies.verdict.encode(await this.answerJoinCommit(p, message.nodeId)));
      case 'join-abort': {
        const target = this.partnerById(message.nodeId);
        if (target && target.state === 'resync-to-partner' && !target.resyncRun) await this.setPartnerState(target, 'not-synchronized', `the join coordinated by ${p.nodeId} was abandoned`);
        return done();
      }
      case 'repair-list':
        // Extents a dropped replica wrote here recently (see repairRecent).
        return respond(0, 0, stateReplies.repairList.encode({ extents: this.partnerById(message.nodeId)?.recentExtents() ?? [] }));
      case 'out':
        // The group removed us while we could still talk to it: stop serving; it will resync us.
        await this.queue(async () => {
          if (this.role === 'serving') this.setRole('blocked', `removed from the group by ${p.nodeId}: ${message.reason}`);
          if (p.state === 'synchronized') await this.setPartnerState(p, 'unknown');
        });
        this.rehandshake(p);
        return done();
      case 'resync-done':
        await this.queue(() => this.resyncDone(p, message));
        return done();
      case 'leaving':
        // Its links close next; the decision that follows drops it rather than stepping aside (see close()).
        p.leaving = true;
        this.log(`HA ${this.config.deviceId}: ${p.nodeId} is leaving: ${message.reason}`);
        return done();
      case 'resolve':
        // The operator chose a survivor on the other side: we lose; take a copy of everything that differs.
        // Not queued: the survivor waits for this answer inside its own chain.
        await this.becomeResyncTarget(p);
        this.emitEvent({ type: 'SplitBrainResolved', partnerNodeId: p.nodeId, survivorNodeId: p.nodeId });
        return respond(0, 0, stateReplies.peerState.encode(this.localState()));
    }
  }

  // ---------------------------------------------------------------- losing a partner

  /** Every sync link to p is down, or p failed a write: decide, once, what that means (writes wait). */
  lost(p: Partner, reason: string, brokenDisk = false): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Anything it held of our lock table is released: it is not writing through us any more.
    if (!p.channel.connected) {
      for (const slot of p.granted) this.localLock.release(slot);
      p.granted.clear();
      p.grantsByRequest.clear();
      p.handshaken = false;
      this.partnerOutOfReach(p);
    }
    if (p.deciding) return p.deciding;
    this.pendingDecisions++;
    const decision = this.queue(() => this.decide(p, reason, brokenDisk)).finally(() => {
      p.deciding = null;
      this.pendingDecisions--;
    });
    p.deciding = decision.catch(() => undefined);
    return p.deciding;
  }

  private nextGeneration(without: Partner): string {
    const staying = [this.config.localNodeId, ...this.members().filter((q) => q !== without).map((q) => q.nodeId)];
    return nextGenerationId(this.generations.state.current, staying);
  }

  private async decide(p: Partner, reason: string, brokenDisk: boolean): Promise<void> {
    if (this.closed) return;
    const state = p.state;
    if (state === 'split-brain') return;
    if (!brokenDisk && p.channel.connected && p.handshaken) return; // back already, and the handshake settled it
    p.stopResync = true;
    if (!p.member) {
      if (state === 'resync-from-partner') {
        await this.setPartnerState(p, 'unknown', reason);
        this.setRole('blocked', `${p.nodeId} holds newer data and is unreachable (${reason})`);
      } else if (state !== 'unknown' || this.role === 'serving') {
        p.bitmap.freeze();
        await this.setPartnerState(p, 'not-synchronized', reason);
      }
      return;
    }
    if (this.role !== 'serving') {
      await this.setPartnerState(p, 'unknown', reason);
      return;
    }
    // A member is gone and we serve: it leaves the group, or we do.
    const alive = brokenDisk || (await this.network.probeHeartbeat(p.cfg.heartbeat));
    // Dropped meanwhile, or being dropped because another member asked (its generation may already have moved:
    // a drop request of ours from there would be refused as stale, and we would step aside for nothing).
    if (this.closed || !p.member || p.removing) return;
    const loss: Loss = { brokenDisk, heartbeatAnswers: alive, memberOutranksUs: outranks(p.cfg.priority, p.nodeId, this.config.priority, this.config.localNodeId), leaving: p.leaving };
    if (stepsAside(loss)) {
      await this.stepAside(p, `sync links to ${p.nodeId} down while it answers on the heartbeat; it has the higher priority (${reason})`);
      return;
    }
    const next = this.nextGeneration(p);
    const agreed: Partner[] = [];
    for (const q of this.members()) {
      if (q === p || !q.channel.connected) continue;
      let answer: Verdict;
      try {
        const r = await q.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'drop', nodeId: p.nodeId, from: this.generations.state.current, next, reason }));
        answer = stateReplies.verdict.decode(r.payload);
      } catch (error) {
        if (error instanceof PartnerUnreachable) continue; // its own decision follows
        answer = { ok: false, why: (error as Error).message };
      }
      if (!answer.ok) {
        await this.stepAside(p, `${q.nodeId} would not drop ${p.nodeId}: ${answer.why ?? 'refused'} (${reason})`);
        return;
      }
      agreed.push(q);
    }
    const input = { strategy: this.config.strategy, partners: this.partners.length, witnessConfigured: (this.config.witness ?? []).length > 0, loss, agreed: agreed.length };
    let votes = tally(input);
    if (votes.askWitness) {
      // The witness's vote: two of three for a two-replica device (ourselves and the witness).
      const granted = await askWitness(this.config.witness ?? [], { op: 'claim', deviceId: this.config.deviceId, nodeId: this.config.localNodeId });
      if (this.closed) return;
      votes = tally({ ...input, witnessGranted: granted });
    }
    if (!votes.goesOn) {
      this.setRole('blocked', `no majority: ${p.nodeId} is silent and only ${votes.votes} of ${votes.total} votes are here (${reason})`);
      await this.setPartnerState(p, 'unknown', reason);
      return;
    }
    const why = lossReason(p.nodeId, reason, loss, votes, agreed.length, this.config.strategy);
    // A partner cut off in silence only notices it deadAfter after it last heard from us: until then it may still
    // serve reads. Resume writes without it only once it must have stopped (a reset or closed link needs no wait).
    if (!brokenDisk && p.channel.wentSilent) {
      const fenceUntil = p.channel.lastHeardAt + (this.config.fenceMs ?? FENCE_MS);
      if (fenceUntil > Date.now()) await new Promise((r) => setTimeout(r, fenceUntil - Date.now()));
      if (this.closed || !p.member) return;
    }
    await this.removeMember(p, why, next);
    // Outside the decision: the repair takes the cluster lock, which writers waiting for this decision may hold.
    if (agreed.length > 0) void this.repairRecent(p, agreed).catch((error) => this.log(`repair after dropping ${p.nodeId}: ${(error as Error).message}`));
  }

  /** Someone else keeps the group: this replica stops serving until it is resynced into it again. */
  private async stepAside(p: Partner, reason: string): Promise<void> {
    this.setRole('blocked', reason);
    await this.setPartnerState(p, 'unknown', reason);
  }

  /** p leaves this replica's group: its bitmap keeps what it misses, the group moves to generation `next`. */
  private async removeMember(p: Partner, reason: string, next: string): Promise<void> {
    if (!p.member && p.state !== 'synchronized') return;
    p.stopResync = true;
    p.bitmap.freeze();
    p.removing = true;
    try {
      if (this.generations.state.current !== next) await this.generations.startNew(next);
      await this.local.flush();
      await this.setPartnerState(p, 'not-synchronized', reason);
    } finally {
      p.removing = false;
    }
    // Reachable still (it failed a write, or others dropped it): it must stop serving and rejoin.
    if (p.channel.connected) p.channel.notify(FrameType.State, 0, 0, 0, encodeState({ kind: 'out', reason }));
    // A join someone else coordinated for a replica may have died with p: start it again from here.
    for (const q of this.partners) {
      if (q !== p && q.state === 'resync-to-partner' && !q.resyncRun) {
        await this.setPartnerState(q, 'not-synchronized', `its join was abandoned when ${p.nodeId} left`);
        this.scheduleRejoin(q);
      }
    }
  }

  /** A member asks us to agree that `nodeId` leaves the group. */
  private async answerDrop(from: Partner, request: DropRequest): Promise<Verdict> {
    if (this.role !== 'serving') return { ok: false, why: `${this.config.localNodeId} does not serve (${this.blockReason})` };
    if (!from.member || from.state !== 'synchronized') return { ok: false, why: `${this.config.localNodeId} does not count ${from.nodeId} in its group` };
    const target = this.partnerById(request.nodeId);
    if (!target) return { ok: false, why: `${request.nodeId} is not a replica of this device` };
    if (!target.member) return { ok: true };
    const current = this.generations.state.current;
    if (current !== request.from && current !== request.next) return { ok: false, why: `generation moved (${current})` };
    await this.removeMember(target, `${from.nodeId} lost it and this replica agreed (${request.reason})`, request.next);
    return { ok: true };
  }

  /**
   * A dropped replica's last writes (never acknowledged) may have reached one member and not another. Every extent
   * it wrote recently, here or at an agreeing member, is copied from here to those members, under the cluster lock.
   */
  private async repairRecent(dropped: Partner, agreed: Partner[]): Promise<void> {
    const extents = new Set(dropped.recentExtents());
    for (const q of agreed) {
      try {
        const r = await q.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'repair-list', nodeId: dropped.nodeId }));
        for (const e of stateReplies.repairList.decode(r.payload).extents) extents.add(e);
      } catch {
        return; // q is going too: its own decision follows
      }
    }
    if (extents.size === 0) return;
    const buf = Buffer.allocUnsafe(ACTIVITY_EXTENT_BYTES);
    const size = this.local.sizeBytes;
    const blockSize = this.local.blockSize;
    for (const e of [...extents].sort((a, b) => a - b)) {
      const position = e * ACTIVITY_EXTENT_BYTES;
      const length = Math.min(ACTIVITY_EXTENT_BYTES, size - position);
      if (length <= 0) continue;
      if (this.closed || this.role !== 'serving') return;
      const slot = await this.lock.acquire(position / blockSize, length / blockSize);
      try {
        await this.local.read(buf, 0, length, position);
        for (const q of agreed) if (q.channel.connected && q.state === 'synchronized') await q.channel.request(FrameType.Write, 0, position, 0, buf, 0, length).catch(() => undefined);
      } finally {
        this.lock.release(slot);
      }
    }
    this.log(`HA ${this.config.deviceId}: aligned ${extents.size} recently written extent(s) of ${dropped.nodeId} across the remaining replicas`);
  }

  // ---------------------------------------------------------------- rejoining (this replica coordinates)

  /**
   * The member with the highest priority coordinates joins (members of a serving group serve, or are about to be
   * dropped; if that one does not serve, the join waits until it is dropped).
   */
  private isCoordinator(): boolean {
    if (this.role !== 'serving') return false;
    return !this.members().some((q) => q.state === 'synchronized' && q.channel.connected && outranks(q.cfg.priority, q.nodeId, this.config.priority, this.config.localNodeId));
  }

  private scheduleRejoin(p: Partner): void {
    clearTimeout(p.retryTimer);
    p.retryTimer = setTimeout(() => {
      if (!this.closed && p.channel.connected && !p.member && this.role === 'serving') this.rehandshake(p);
    }, 1000);
    p.retryTimer.unref();
  }

  /**
   * p (older, or same with regions in doubt) joins the group: the other members send it their writes from now on
   * and say what they know it misses; we copy the union from here, they commit, p adopts our generation.
   */
  private async startRejoin(p: Partner, peer: PeerState): Promise<void> {
    if (p.resyncRun) {
      // A run already copying to p answers this. One still winding down after p went away (a copy sleeping for the
      // rate limit, a bitmap flush) does not: try again once it has ended, or p would wait for a join forever.
      if (p.stopResync) this.scheduleRejoin(p);
      return;
    }
    this.log(`HA ${this.config.deviceId}: coordinating the join of ${p.nodeId} (${this.partners.map((q) => `${q.nodeId} ${q.state}${q.member ? ' member' : ''}${q.channel.connected ? '' : ' unreachable'}`).join(', ')})`);
    p.stopResync = false;
    await this.setPartnerState(p, 'resync-to-partner');
    const union = this.regionsToCopy(p, peer);
    const others = this.members().filter((q) => q !== p);
    const prepared: Partner[] = [];
    for (const q of others) {
      let answer: JoinPrepareAnswer;
      try {
        const r = await q.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'join-prepare', nodeId: p.nodeId }));
        answer = stateReplies.joinPrepare.decode(r.payload);
      } catch (error) {
        answer = { ok: false, why: (error as Error).message };
      }
      if (!answer.ok) {
        this.log(`HA ${this.config.deviceId}: ${p.nodeId} cannot rejoin yet: ${q.nodeId}: ${answer.why}`);
        for (const done of prepared) done.channel.notify(FrameType.State, 0, 0, 0, encodeState({ kind: 'join-abort', nodeId: p.nodeId }));
        await this.setPartnerState(p, 'not-synchronized', `join postponed: ${answer.why}`);
        this.scheduleRejoin(p);
        return;
      }
      prepared.push(q);
      mergeRegions(union, Object.values(answer.dirty ?? {}));
    }
    // The union goes into p's bitmap (sticky), which the copy then empties.
    await markRegions(p.bitmap, union.full ? allRegions(p.bitmap) : union.regions, this.local.sizeBytes);
    p.bitmap.freeze();
    p.resyncRun = this.copyRegions(p, union.full ? 'full' : 'fast', prepared)
      .catch(async (error) => {
        if (!(error instanceof PartnerUnreachable)) this.log(`resync to ${p.nodeId} stopped: ${(error as Error).message}`);
        for (const q of prepared) if (q.channel.connected) q.channel.notify(FrameType.State, 0, 0, 0, encodeState({ kind: 'join-abort', nodeId: p.nodeId }));
        if (!this.closed && p.state === 'resync-to-partner') {
          await this.setPartnerState(p, 'not-synchronized', `resync stopped: ${(error as Error).message}`).catch(() => undefined);
          this.scheduleRejoin(p);
        }
      })
      .finally(() => {
        p.resyncRun = null;
      });
  }

  private async copyRegions(p: Partner, kind: 'fast' | 'full', prepared: Partner[]): Promise<void> {
    const regionBytes = this.regionBytes;
    const size = this.local.sizeBytes;
    const blockSize = this.local.blockSize;
    let regions = p.bitmap.dirtyRegions();
    const total = Math.min(regions.length * regionBytes, size);
    const started = Date.now();
    p.resyncDoneBytes = 0;
    p.resyncStartedAt = started;
    const announce = regions.length > 0;
    if (announce) this.emitEvent({ type: 'ResyncStarted', partnerNodeId: p.nodeId, direction: 'to-partner', kind, bytes: total });
    const rate = this.config.resyncBytesPerSecond ?? 0;
    let done = 0;
    let lastProgress = Date.now();
    const perChunk = Math.max(1, Math.floor(RESYNC_CHUNK_BYTES / regionBytes));
    // Flush-behind: one background flush of the target at a time; its failure fails the resync.
    let unflushed = 0;
    let flushing: Promise<void> | null = null;
    let flushError: Error | null = null;
    const flushBehind = (): void => {
      unflushed = 0;
      flushing = p.channel.request(FrameType.Flush, 0, 0, 0).then(
        () => void (flushing = null),
        (error: Error) => void ((flushError ??= error), (flushing = null)),
      );
    };
    const copyPass = async (list: number[]): Promise<void> => {
      // Runs of adjacent regions (the list is ascending), so a full resync sends 1 MiB frames, not 64 KiB ones.
      const chunks: [number, number][] = [];
      for (const region of list) {
        const last = chunks[chunks.length - 1];
        if (last && last[0] + last[1] === region && last[1] < perChunk) last[1]++;
        else chunks.push([region, 1]);
      }
      let next = 0;
      const copyOne = async (buf: Buffer): Promise<void> => {
        while (next < chunks.length) {
          if (p.stopResync || this.closed) return;
          const [region, count] = chunks[next++];
          const position = region * regionBytes;
          const length = Math.min(count * regionBytes, size - position);
          if (length <= 0) continue;
          const slot = await this.lock.acquire(position / blockSize, length / blockSize);
          try {
            await this.local.read(buf, 0, length, position);
            await p.channel.request(FrameType.ResyncData, 0, position, 0, buf, 0, length);
            for (let k = 0; k < count; k++) p.bitmap.cleanRegion(region + k);
          } finally {
            this.lock.release(slot);
          }
          if (flushError) throw flushError;
          unflushed += length;
          if (unflushed >= RESYNC_FLUSH_BYTES && !flushing) flushBehind();
          done += length;
          p.resyncDoneBytes = done;
          this.resyncedBytes += length;
          if (rate > 0) {
            const due = started + (done / rate) * 1000;
            if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
          }
          if (Date.now() - lastProgress >= 1000) {
            lastProgress = Date.now();
            await p.bitmap.flush();
            this.emitEvent({ type: 'ResyncProgress', partnerNodeId: p.nodeId, doneBytes: done, totalBytes: Math.max(total, done) });
          }
        }
      };
      // A few regions in flight at once: one at a time would leave both disks idle for a round trip per region.
      await Promise.all(Array.from({ length: Math.min(RESYNC_IN_FLIGHT, chunks.length) }, () => copyOne(Buffer.allocUnsafe(perChunk * regionBytes))));
      if (flushing) await flushing;
      if (flushError) throw flushError;
      if (p.stopResync || this.closed) throw new PartnerUnreachable(p.nodeId, 'resync stopped');
    };
    for (let round = 0; ; round++) {
      // Regions marked while we copied (a member's write p did not get before that member was prepared): again.
      for (let pass = 0; regions.length > 0; pass++) {
        if (pass >= 50) throw new Error(`${regions.length} region(s) still differ after ${pass} passes`);
        await copyPass(regions);
        regions = p.bitmap.dirtyRegions().filter((r) => p.bitmap.isSticky(r));
      }
      // Joins end one at a time: a replica whose join ends first is a member when we look, never in between.
      const release = await this.joinTurn();
      try {
        const unprepared = this.members().filter((q) => q !== p && !prepared.includes(q));
        if (unprepared.length === 0) {
          await this.commitJoin(p, prepared);
          break;
        }
        if (round >= 4) throw new Error(`the group kept changing during the join of ${p.nodeId}`);
        // Members that joined while we copied must send p their writes too, and say what p misses.
        for (const q of unprepared) {
          const r = await q.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'join-prepare', nodeId: p.nodeId }));
          const answer = stateReplies.joinPrepare.decode(r.payload);
          if (!answer.ok) throw new Error(`${q.nodeId} cannot take part in the join of ${p.nodeId}: ${answer.why}`);
          prepared.push(q);
          const union: RegionUnion = { full: false, regions: [] };
          mergeRegions(union, Object.values(answer.dirty ?? {}));
          await markRegions(p.bitmap, union.full ? allRegions(p.bitmap) : union.regions, this.local.sizeBytes);
        }
      } finally {
        release();
      }
      regions = p.bitmap.dirtyRegions().filter((r) => p.bitmap.isSticky(r));
    }
    if (announce) this.emitEvent({ type: 'ResyncCompleted', partnerNodeId: p.nodeId, kind, bytes: done, seconds: (Date.now() - started) / 1000 });
  }

  private joinQueue: Promise<void> = Promise.resolve();

  /** Waits for this replica's turn to end a join; call the returned function when done. */
  private joinTurn(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const turn = this.joinQueue.then(() => release);
    this.joinQueue = this.joinQueue.then(() => mine);
    return turn;
  }

  /** Everything copied: the prepared members commit, p takes our generation and the group, and is a member here. */
  private async commitJoin(p: Partner, prepared: Partner[]): Promise<void> {
    await this.local.flush();
    await p.bitmap.flush();
    for (const q of prepared) {
      const r = await q.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'join-commit', nodeId: p.nodeId }));
      const answer = stateReplies.verdict.decode(r.payload);
      if (!answer.ok) throw new Error(`${q.nodeId} did not commit the join of ${p.nodeId}: ${answer.why}`);
    }
    const outside: Record<string, number[] | null> = {};
    for (const q of this.partners) if (q !== p && !q.member) outside[q.nodeId] = listRegions(q.bitmap);
    const body: ResyncDone = {
      generation: this.generations.state,
      reservations: this.prHooks?.snapshot(),
      members: [this.config.localNodeId, ...prepared.map((q) => q.nodeId)],
      outside,
    };
    await p.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'resync-done', ...body }));
    await this.setPartnerState(p, 'synchronized');
    if (p.peer) p.peer.role = 'serving';
  }

  /** The coordinator asks us (a member) to send `nodeId` our writes from now on, and what we know it misses. */
  private async answerJoinPrepare(from: Partner, nodeId: string): Promise<JoinPrepareAnswer> {
    const target = this.partnerById(nodeId);
    if (this.role !== 'serving') return { ok: false, why: `${this.config.localNodeId} does not serve` };
    if (!from.member || from.state !== 'synchronized') return { ok: false, why: `${this.config.localNodeId} does not count ${from.nodeId} in its group` };
    if (!target) return { ok: false, why: `${nodeId} is not a replica of this device` };
    if (!target.channel.connected) return { ok: false, why: `no sync link from ${this.config.localNodeId} to ${nodeId}` };
    if (target.member) await this.removeMember(target, `${from.nodeId} rejoins it`, this.nextGeneration(target));
    await this.setPartnerState(target, 'resync-to-partner');
    const dirty: Record<string, number[] | null> = {};
    for (const q of this.partners) dirty[q.nodeId] = listRegions(q.bitmap);
    target.preparedRegions = dirty[nodeId] ?? null;
    return { ok: true, dirty };
  }

  private async answerJoinCommit(from: Partner, nodeId: string): Promise<Verdict> {
    const target = this.partnerById(nodeId);
    if (!target || target.state !== 'resync-to-partner') return { ok: false, why: `${this.config.localNodeId} was not sending ${nodeId} its writes (${target?.state})` };
    const regions = target.preparedRegions ?? allRegions(target.bitmap);
    for (const r of regions) target.bitmap.cleanRegion(r);
    target.preparedRegions = null;
    await target.bitmap.flush();
    await this.setPartnerState(target, 'synchronized');
    this.log(`HA ${this.config.deviceId}: ${nodeId} joined through ${from.nodeId}`);
    return { ok: true };
  }

  /** The coordinator copied everything we missed: take its history and serve with the group. */
  private async resyncDone(from: Partner, body: ResyncDone): Promise<void> {
    await this.local.flush();
    if (body.reservations !== undefined && this.prHooks) await this.prHooks.restore(body.reservations);
    await this.generations.adopt(body.generation);
    for (const q of this.partners) {
      for (const region of q.bitmap.dirtyRegions()) q.bitmap.cleanRegion(region);
      const outside = body.outside?.[q.nodeId];
      if (outside !== undefined && !body.members.includes(q.nodeId)) {
        // Out of the group: what the coordinator knows it misses, we now know too.
        await markRegions(q.bitmap, outside ?? allRegions(q.bitmap), this.local.sizeBytes);
      }
      await q.bitmap.flush();
    }
    for (const q of this.partners) {
      if (body.members.includes(q.nodeId)) {
        await this.setPartnerState(q, 'synchronized');
        if (q.peer) q.peer.role = 'serving';
      } else {
        q.bitmap.freeze();
        await this.setPartnerState(q, 'not-synchronized', `not in the group ${from.nodeId} resynced us into`);
      }
    }
    this.setRole('serving', `resync from ${from.nodeId} completed`);
  }

  /** Operator decision after a split-brain: this replica's data survives; the others take a copy of it. */
  async resolveSplitBrainKeepingThis(): Promise<void> {
    const losers = this.partners.filter((p) => p.state === 'split-brain');
    if (losers.length === 0) throw new Error(`device ${this.config.deviceId} is not in split-brain (partners ${this.partners.map((p) => `${p.nodeId} ${p.state}`).join(', ')})`);
    await this.queue(async () => {
      for (const p of losers) {
        const reply = await p.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'resolve' }));
        const peer = stateReplies.peerState.decode(reply.payload);
        p.peer = peer;
        this.emitEvent({ type: 'SplitBrainResolved', partnerNodeId: p.nodeId, survivorNodeId: this.config.localNodeId });
        await this.setPartnerState(p, 'not-synchronized', 'split-brain resolved: this replica survives');
      }
      if (this.role !== 'serving') this.setRole('serving', 'chosen as the survivor of the split-brain');
      // Both sides' changes since the split differ: copy the union (everything, if a bitmap is untrusted).
      for (const p of losers) await this.startRejoin(p, p.peer!);
    });
  }

  private watchLatency(): void {
    const limit = this.config.latencyAlertMicros ?? 5000;
    for (const p of this.partners) {
      const rtt = p.channel.rttMicros;
      if (rtt > limit && Date.now() - p.lastLatencyAlert > 60_000) {
        p.lastLatencyAlert = Date.now();
        this.emitEvent({ type: 'SyncLatencyHigh', partnerNodeId: p.nodeId, rttMicros: rtt });
      }
    }
  }

  /**
   * A graceful stop: stop serving, then tell every connected partner before the links close. Otherwise a partner
   * with a lower priority would take the closing links for a cut cable while this node's heartbeat still answers,
   * step aside, and leave the device with no replica serving until this one is back. Told, it goes on without this
   * replica (which a resync brings back). A write in flight meanwhile is refused by the partner and fails here,
   * never acknowledged on one copy only.
   */
  private async leave(reason: string): Promise<void> {
    if (this.role === 'serving') this.setRole('blocked', reason);
    const told = this.partners
      .filter((p) => p.channel.connected)
      .map((p) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, LEAVE_NOTICE_MS)));
        const request = p.channel.request(FrameType.State, 0, 0, 0, encodeState({ kind: 'leaving', reason })).then(() => undefined, () => undefined);
        return Promise.race([request, timeout]).finally(() => clearTimeout(timer));
      });
    await Promise.all(told);
  }

  // ---------------------------------------------------------------- the data path

  /** Before any I/O: no decision pending, and no member silently gone (its decision comes first). */
  ready(): Promise<void> | null {
    if (this.pendingDecisions > 0) return this.settled();
    for (const p of this.partners) if (p.member && p.state === 'synchronized' && !p.channel.connected) return this.lost(p, 'no sync link');
    return null;
  }

  /** A PERSISTENT RESERVE OUT that changed the state here, applied on every partner receiving writes before GOOD. */
  replicatePr(op: unknown, nexus: PrNexus): Promise<void> {
    return mirrorPr(this, op, nexus);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.leave('shutting down');
    this.closed = true;
    clearTimeout(this.startupTimer);
    clearInterval(this.sweepTimer);
    clearInterval(this.latencyTimer);
    clearInterval(this.recentTimer);
    for (const p of this.partners) {
      p.stopResync = true;
      clearTimeout(p.retryTimer);
      this.network.unregister(this.config.deviceId, p.nodeId);
    }
    for (const p of this.partners) await p.resyncRun?.catch(() => undefined);
    for (const p of this.partners) {
      await p.bitmap.flush().catch(() => undefined);
      await p.bitmap.close();
    }
  }
}
