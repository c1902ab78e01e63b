/**
 * One replica of a HA device: the local store mirrored synchronously to its partner over the sync channel.
 *
 * - Writes (WRITE, WRITE SAME, UNMAP, COMPARE AND WRITE, XCOPY) reach `store`, which applies them locally and on
 *   the partner before resolving; reads are local. Writers hold `lock`, a cluster-wide range lock whose authority
 *   is the synchronized serving replica with the highest priority: overlapping writes through different nodes are
 *   applied in one order on both replicas, and COMPARE AND WRITE is atomic cluster-wide.
 * - Before a local write, its regions are marked in the dirty bitmap (durably, when a bit flips): after a crash the
 *   set bits cover every region that may differ. While the partner is not synchronized the bits stay set.
 * - Sync links all down → heartbeat probe: partner answers → the lower-priority replica blocks (ALUA unavailable);
 *   partner silent → presumed dead: marked not synchronized, a new generation starts, this replica goes on alone.
 * - Links back → state exchange: generations tell who is newer; the newer copies the dirty regions (both sides'
 *   bitmaps) to the older while serving; the older serves again when done. Diverged generations → split-brain:
 *   the lower-priority side stays blocked until an operator chooses the survivor.
 */
import { EventEmitter } from 'events';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { LbaRangeLock, type AluaAccessState, type RangeLock } from '@tandem/scsi';
import { StoreError, type BlockStore, type ByteRange } from '@tandem/storage';
import { PartnerChannel, PartnerRefused, PartnerUnreachable } from '../channel/partnerChannel';
import type { SyncNetwork } from '../channel/syncNetwork';
import { FrameFlag, FrameType, type FrameHeader } from '../protocol/frame';
import { DirtyBitmap } from '../state/dirtyBitmap';
import { GenerationStore, compareGenerations, writeAtomically, type GenerationState } from '../state/generations';
import { askWitness } from '../witness/witness';
import type { HaDeviceConfig, HaPartnerConfig } from './haConfig';
import type { HaEvent, LocalRole, PartnerState } from './haEvents';

/** State frame flags: what the exchange is about. */
const STATE_HANDSHAKE = 0x100;
const STATE_ACCESS = 0x200;
const STATE_RESYNC_DONE = 0x400;
const STATE_RESOLVE = 0x800;

const DEFAULT_REGION_BYTES = 64 * 1024;
/** Activity-log granularity while the partner is synchronized (see replicateWrite). */
const ACTIVITY_EXTENT_BYTES = 4 * 1024 * 1024;
/** Regions a resync copies at once. */
const RESYNC_IN_FLIGHT = 8;
/** Remote lock slots are numbered from here (local slots are small). */
const REMOTE_SLOT_BASE = 1 << 30;

interface PeerState {
  nodeId: string;
  priority: number;
  generation: GenerationState;
  /** Regions the peer's bitmap marks for us; null = its bitmap cannot be trusted (everything). */
  dirty: number[] | null;
  role: LocalRole;
  accessState: AluaAccessState;
}

/** The LU's reservation state as the device moves it: partner PR OUTs applied here, and the state copied at resync. */
export interface PrHooks {
  apply(op: unknown, nexus: { initiatorPortName: string; targetPortName: string; relativeTargetPortId: number }): Promise<void>;
  snapshot(): unknown;
  restore(snapshot: unknown): Promise<void>;
}

interface PersistedPartner {
  state: 'synchronized' | 'not-synchronized';
}

const unavailable = (why: string) => new StoreError(`replica not serving: ${why}`, 'UNAVAILABLE');

export class HaDevice extends EventEmitter {
  readonly store: BlockStore;
  readonly lock: ClusterRangeLock;
  readonly partner: HaPartnerConfig;
  readonly channel: PartnerChannel;
  /** The node-local lock table (the authority's, when this replica is the authority). */
  readonly localLock = new LbaRangeLock();
  role: LocalRole = 'blocked';
  partnerState: PartnerState = 'unknown';
  blockReason = 'starting: waiting for the partner';
  partnerAccessState: AluaAccessState = 'unavailable';
  private peer: PeerState | null = null;
  private deciding: Promise<void> | null = null;
  private settledWaiters: (() => void)[] = [];
  private resyncRun: Promise<void> | null = null;
  private stopResync = false;
  private startupTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private latencyTimer?: NodeJS.Timeout;
  private lastLatencyAlert = 0;
  /** Lock slots granted to the partner (released if it goes away), and PR/lock request ids seen from it. */
  private readonly grantedToPartner = new Set<number>();
  private readonly grantsByRequest = new Map<number, number>();
  private closed = false;
  /** Bytes copied by resyncs since open (for tests and benchmarks). */
  resyncedBytes = 0;
  /** How the LU's persistent reservations travel with the device (set by the host that builds the LU). */
  prHooks: PrHooks | null = null;
  private readonly recentPrRequests = new Set<number>();

  private constructor(
    readonly local: BlockStore,
    readonly config: HaDeviceConfig,
    private readonly network: SyncNetwork,
    readonly generations: GenerationStore,
    readonly bitmap: DirtyBitmap,
    private persisted: PersistedPartner,
  ) {
    super();
    if (config.partners.length !== 1) throw new Error(`HA device ${config.deviceId}: exactly one partner is supported (got ${config.partners.length})`);
    this.partner = config.partners[0];
    this.channel = new PartnerChannel(this.partner.nodeId);
    this.store = new ReplicatedStore(this);
    this.lock = new ClusterRangeLock(this);
  }

  static async open(local: BlockStore, config: HaDeviceConfig, network: SyncNetwork): Promise<HaDevice> {
    await fsp.mkdir(config.stateDir, { recursive: true });
    const partner = config.partners[0];
    if (!partner) throw new Error(`HA device ${config.deviceId} has no partner`);
    const generationFile = path.join(config.stateDir, 'generation.json');
    const knownReplica = await fsp.stat(generationFile).then(() => true, () => false);
    const generations = await GenerationStore.open(generationFile, config.initialGeneration);
    const bitmap = await DirtyBitmap.open(path.join(config.stateDir, `${partner.nodeId}.bitmap`), {
      deviceBytes: local.sizeBytes,
      regionBytes: config.regionBytes ?? DEFAULT_REGION_BYTES,
    });
    // A replica with a history but no bitmap (deleted by mistake): nothing says which regions match any more.
    if (knownReplica && bitmap.created) await bitmap.markAll();
    const persisted = await readPartnerState(path.join(config.stateDir, `${partner.nodeId}.state.json`));
    const device = new HaDevice(local, config, network, generations, bitmap, persisted);
    device.start();
    return device;
  }

  // ---------------------------------------------------------------- state

  get accessState(): AluaAccessState {
    if (this.role === 'serving') return this.config.preferredAccessState;
    return this.role === 'resync-target' ? 'standby' : 'unavailable';
  }

  get regionBytes(): number {
    return this.bitmap.regionBytes;
  }

  /** The partner receives our writes (synchronized, or being resynced from us). */
  private get partnerReceives(): boolean {
    return (this.partnerState === 'synchronized' || this.partnerState === 'resync-to-partner') && this.channel.connected;
  }

  /** Where writers take their range lock: here, or at the partner (synchronized, serving, higher priority). */
  lockAuthority(): 'local' | PartnerChannel {
    if (this.partnerState === 'synchronized' && this.channel.connected && this.peer?.role === 'serving' && this.partner.priority > this.config.priority) return this.channel;
    return 'local';
  }

  private emitEvent(event: HaEvent): void {
    this.emit('event', event);
  }

  private setRole(role: LocalRole, reason: string): void {
    if (this.role === role && (role !== 'blocked' || this.blockReason === reason)) return;
    const was = this.role;
    this.role = role;
    if (role === 'blocked') {
      this.blockReason = reason;
      this.emitEvent({ type: 'DeviceBlocked', reason });
    } else if (was === 'blocked' && role === 'serving') {
      this.emitEvent({ type: 'DeviceUnblocked', reason });
    }
    this.emitEvent({ type: 'PathStateChanged', portGroup: this.config.localPortGroup, state: this.accessState });
    this.emit('access', this.accessState);
    if (this.channel.connected) this.channel.notify(FrameType.State, STATE_ACCESS, 0, 0, Buffer.from(JSON.stringify({ role: this.role, accessState: this.accessState })));
    if (role !== 'blocked') this.wakeSettled();
  }

  private async setPartnerState(state: PartnerState, reason = ''): Promise<void> {
    const was = this.partnerState;
    this.partnerState = state;
    if (state === was) return;
    if (state === 'synchronized') {
      this.emitEvent({ type: 'ReplicaSynchronized', partnerNodeId: this.partner.nodeId });
      // Together again: the witness's vote goes back (whoever holds it), ready for the next split.
      if (this.config.strategy === 'node-majority') void askWitness(this.config.witness ?? [], { op: 'release', deviceId: this.config.deviceId, nodeId: this.config.localNodeId });
    }
    if (state === 'not-synchronized' && (was === 'synchronized' || was === 'resync-to-partner' || was === 'resync-from-partner')) {
      this.emitEvent({ type: 'ReplicaNotSynchronized', partnerNodeId: this.partner.nodeId, reason });
    }
    const durable = state === 'synchronized' ? 'synchronized' : state === 'not-synchronized' || state === 'resync-to-partner' ? 'not-synchronized' : null;
    if (durable && durable !== this.persisted.state) {
      this.persisted = { state: durable };
      await writeAtomically(path.join(this.config.stateDir, `${this.partner.nodeId}.state.json`), JSON.stringify(this.persisted));
    }
    if (!this.channel.connected) this.setPartnerAccess('unavailable');
  }

  private setPartnerAccess(state: AluaAccessState): void {
    if (this.partnerAccessState === state) return;
    this.partnerAccessState = state;
    this.emit('partner-access', state);
  }

  /** Resolves once no partner decision is pending (writers waiting on a lost partner continue after it). */
  settled(): Promise<void> {
    if (!this.deciding) return Promise.resolve();
    return this.deciding;
  }

  private wakeSettled(): void {
    for (const w of this.settledWaiters.splice(0)) w();
  }

  // ---------------------------------------------------------------- start-up and the channel

  private start(): void {
    this.channel.onRequest = (h, p, respond) => this.handleRequest(h, p, respond);
    this.channel.onUp = () => this.partnerConnected();
    this.channel.onDown = (reason) => void this.partnerLost(`sync links down (${reason})`);
    this.network.register(this.config.deviceId, this.partner.nodeId, this.partner.sync, this.channel);
    this.emit('access', this.accessState);
    // No partner within the start-up wait: decide alone (see startAlone).
    this.startupTimer = setTimeout(() => void this.startAlone(), this.config.startupWaitMs ?? 5000);
    this.sweepTimer = setInterval(() => void this.bitmap.sweep().catch(() => undefined), 1000);
    this.sweepTimer.unref();
    this.latencyTimer = setInterval(() => this.watchLatency(), 1000);
    this.latencyTimer.unref();
  }

  /**
   * The partner did not show up after start-up. If it was not synchronized when we stopped, we were serving alone
   * and hold the newest data: serve. If it was synchronized, it may have gone on alone after we stopped: serving
   * could hand out data older than acknowledged writes, so stay blocked until it is back (or an operator forces).
   */
  private async startAlone(): Promise<void> {
    if (this.closed || this.channel.connected || this.partnerState !== 'unknown') return;
    const alive = await this.network.probeHeartbeat(this.partner.heartbeat);
    if (this.closed || this.channel.connected || this.partnerState !== 'unknown') return;
    if (this.persisted.state === 'not-synchronized') {
      await this.setPartnerState('not-synchronized', 'partner absent at start-up');
      this.setRole('serving', 'was serving alone before the restart');
    } else {
      this.setRole('blocked', alive ? 'the partner answers on the heartbeat but no sync link is up' : 'the partner may hold newer data; waiting for it');
    }
  }

  private partnerConnected(): void {
    clearTimeout(this.startupTimer);
    this.setPartnerAccess('unavailable');
    void this.setPartnerState('unknown');
    // The node with the smaller id opens the exchange; the other answers it.
    if (this.config.localNodeId < this.partner.nodeId) void this.handshake();
  }

  private localState(): PeerState {
    return {
      nodeId: this.config.localNodeId,
      priority: this.config.priority,
      generation: this.generations.state,
      dirty: this.bitmap.trusted ? this.bitmap.dirtyRegions() : null,
      role: this.role,
      accessState: this.accessState,
    };
  }

  private async handshake(): Promise<void> {
    try {
      const reply = await this.channel.request(FrameType.State, STATE_HANDSHAKE, 0, 0, Buffer.from(JSON.stringify(this.localState())));
      await this.agree(JSON.parse(reply.payload.toString('utf8')) as PeerState);
    } catch (error) {
      if (!(error instanceof PartnerUnreachable)) this.channel.close(`handshake failed: ${(error as Error).message}`);
    }
  }

  /**
   * Both sides run this with the other's state and reach the same verdict: who is newer, which regions differ.
   */
  private async agree(peer: PeerState): Promise<void> {
    this.peer = peer;
    this.setPartnerAccess(peer.accessState);
    const verdict = compareGenerations(this.generations.state, peer.generation);
    const fullCopy = peer.dirty === null || !this.bitmap.trusted;
    const union = (): number[] => {
      if (fullCopy) return Array.from({ length: this.bitmap.regionCount }, (_, i) => i);
      const set = new Set(this.bitmap.dirtyRegions());
      for (const r of peer.dirty ?? []) set.add(r);
      return [...set].sort((a, b) => a - b);
    };
    const iWin = this.config.priority > peer.priority || (this.config.priority === peer.priority && this.config.localNodeId > peer.nodeId);
    if (verdict === 'same') {
      const regions = union();
      if (regions.length === 0) {
        await this.setPartnerState('synchronized');
        this.setRole('serving', 'partner synchronized');
        return;
      }
      // Same history, but writes were in flight at a crash: the higher priority copies those regions.
      return iWin ? this.startResyncTo(regions, fullCopy) : this.becomeResyncTarget();
    }
    if (verdict === 'local-newer') return this.startResyncTo(union(), fullCopy);
    if (verdict === 'peer-newer') return this.becomeResyncTarget();
    // Diverged: both went on alone. Never merge: the higher priority keeps serving if it was, the other blocks.
    await this.setPartnerState('split-brain');
    const evidence =
      `generations diverged: here ${this.generations.state.current} (${this.bitmap.dirtyBytes()} bytes written since the split), ` +
      `partner ${peer.nodeId} ${peer.generation.current} (${(peer.dirty?.length ?? this.bitmap.regionCount) * this.regionBytes} bytes)`;
    this.emitEvent({ type: 'SplitBrainDetected', partnerNodeId: peer.nodeId, evidence });
    if (!iWin || this.role !== 'serving') this.setRole('blocked', 'split-brain: an operator must choose the survivor');
  }

  private async becomeResyncTarget(): Promise<void> {
    await this.setPartnerState('resync-from-partner');
    this.setRole('resync-target', 'the partner is newer');
  }

  // ---------------------------------------------------------------- partner requests

  private handleRequest(h: FrameHeader, payload: Buffer, respond: (flags: number, aux: number, payload?: Buffer) => void): void {
    const fail = (error: unknown) => respond(FrameFlag.Error, 0, Buffer.from((error as Error).message ?? String(error)));
    const ok = () => respond(0, 0);
    switch (h.type) {
      case FrameType.Write: {
        // Copied values: the header object is reused by the decoder.
        const { position, flags } = h;
        this.local.write(payload, 0, payload.length, position, (flags & FrameFlag.Fua) !== 0).then(ok, fail);
        return;
      }
      case FrameType.ResyncData:
        this.local.write(payload, 0, payload.length, h.position, false).then(ok, fail);
        return;
      case FrameType.Discard: {
        const discard = this.local.discard?.bind(this.local);
        if (!discard) return fail(new Error('this replica cannot deallocate'));
        discard(h.position, h.aux === 0 ? payload.readUIntBE(0, 6) : h.aux).then(ok, fail);
        return;
      }
      case FrameType.Flush:
        this.local.flush().then(ok, fail);
        return;
      case FrameType.Lock: {
        const requestId = h.requestId;
        const granted = this.grantsByRequest.get(requestId);
        if (granted !== undefined) return respond(0, granted);
        const first = h.position;
        const blocks = h.aux;
        void this.localLock.acquire(first, blocks).then((slot) => {
          this.grantedToPartner.add(slot);
          this.grantsByRequest.set(requestId, slot);
          respond(0, slot);
        });
        return;
      }
      case FrameType.Unlock: {
        const slot = h.aux;
        if (this.grantedToPartner.delete(slot)) {
          for (const [request, s] of this.grantsByRequest) if (s === slot) this.grantsByRequest.delete(request);
          this.localLock.release(slot);
        }
        return ok();
      }
      case FrameType.State:
        void this.handleState(h.flags, payload, respond).catch(fail);
        return;
      case FrameType.PrApply: {
        // A repeat (sent again after a link died) must not register twice.
        if (this.recentPrRequests.has(h.requestId)) return ok();
        this.recentPrRequests.add(h.requestId);
        if (this.recentPrRequests.size > 256) this.recentPrRequests.delete(this.recentPrRequests.values().next().value as number);
        const { op, nexus } = JSON.parse(payload.toString('utf8'));
        if (!this.prHooks) return fail(new Error('this replica has no reservations to apply to'));
        this.prHooks.apply(op, nexus).then(ok, fail);
        return;
      }
      default:
        return fail(new Error(`unexpected frame type ${h.type}`));
    }
  }

  private async handleState(flags: number, payload: Buffer, respond: (flags: number, aux: number, payload?: Buffer) => void): Promise<void> {
    const body = JSON.parse(payload.toString('utf8'));
    if (flags & STATE_HANDSHAKE) {
      const mine = this.localState();
      respond(0, 0, Buffer.from(JSON.stringify(mine)));
      await this.agree(body as PeerState);
      return;
    }
    if (flags & STATE_ACCESS) {
      if (this.peer) this.peer.role = body.role;
      this.setPartnerAccess(body.accessState);
      return respond(0, 0);
    }
    if (flags & STATE_RESYNC_DONE) {
      // Everything differing has arrived: take the partner's history as ours and serve again.
      await this.local.flush();
      if (body.reservations !== undefined && this.prHooks) await this.prHooks.restore(body.reservations);
      await this.generations.adopt(body.generation as GenerationState);
      for (const region of this.bitmap.dirtyRegions()) this.bitmap.cleanRegion(region);
      await this.bitmap.flush();
      await this.setPartnerState('synchronized');
      this.setRole('serving', 'resync from the partner completed');
      return respond(0, 0);
    }
    if (flags & STATE_RESOLVE) {
      // The operator chose a survivor on the other side: we lose; take a copy of everything that differs.
      await this.becomeResyncTarget();
      this.emitEvent({ type: 'SplitBrainResolved', partnerNodeId: this.partner.nodeId, survivorNodeId: this.partner.nodeId });
      return respond(0, 0, Buffer.from(JSON.stringify(this.localState())));
    }
    respond(FrameFlag.Error, 0, Buffer.from('unknown state message'));
  }

  // ---------------------------------------------------------------- losing the partner

  /** Every sync link is down, or the partner failed a write: decide, once, what this replica does. */
  partnerLost(reason: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Anything it held of our lock table is released: it is not writing through us any more.
    for (const slot of this.grantedToPartner) this.localLock.release(slot);
    this.grantedToPartner.clear();
    this.grantsByRequest.clear();
    this.stopResync = true;
    this.setPartnerAccess('unavailable');
    if (!this.deciding) {
      this.deciding = this.decide(reason).finally(() => {
        this.deciding = null;
        this.wakeSettled();
      });
    }
    return this.deciding;
  }

  private async decide(reason: string): Promise<void> {
    const state = this.partnerState;
    if (state === 'not-synchronized' || state === 'split-brain') return;
    if (state === 'resync-from-partner' || (state === 'unknown' && this.role !== 'serving')) {
      // We are behind (or do not know): we cannot go on alone.
      await this.setPartnerState(state === 'unknown' ? 'unknown' : 'not-synchronized', reason);
      if (this.role !== 'blocked') this.setRole('blocked', `the partner holds newer data and is unreachable (${reason})`);
      return;
    }
    const alive = await this.network.probeHeartbeat(this.partner.heartbeat);
    if (this.closed) return;
    if (alive && this.partner.priority > this.config.priority) {
      this.setRole('blocked', `sync links down while the partner answers on the heartbeat; it has the higher priority (${reason})`);
      await this.setPartnerState('unknown', reason);
      return;
    }
    if (!alive && this.config.strategy === 'node-majority') {
      // Two votes of three are needed to go on: ours and the witness's (the partner cannot be heard).
      const granted = await askWitness(this.config.witness ?? [], { op: 'claim', deviceId: this.config.deviceId, nodeId: this.config.localNodeId });
      if (this.closed) return;
      if (!granted) {
        this.setRole('blocked', `no majority: the partner is silent and the witness gave its vote to the partner or did not answer (${reason})`);
        await this.setPartnerState('unknown', reason);
        return;
      }
      await this.markPartnerNotSynchronized(`partner silent; the witness gave this replica its vote (${reason})`);
      return;
    }
    await this.markPartnerNotSynchronized(alive ? `sync links down, partner alive on the heartbeat with lower priority (${reason})` : `partner presumed dead: sync and heartbeat silent (${reason})`);
  }

  /** From now on this replica goes on alone: the bitmap keeps what the partner misses, under a new generation. */
  private async markPartnerNotSynchronized(reason: string): Promise<void> {
    this.bitmap.freeze();
    await this.generations.startNew();
    await this.local.flush();
    await this.setPartnerState('not-synchronized', reason);
    if (this.role !== 'serving') this.setRole('serving', reason);
  }

  // ---------------------------------------------------------------- resync (this replica is newer)

  private async startResyncTo(regions: number[], full: boolean): Promise<void> {
    if (this.role !== 'serving') this.setRole('serving', 'newest replica');
    await this.setPartnerState('resync-to-partner');
    for (const r of regions) {
      if (this.bitmap.isDirty(r)) continue;
      const marking = this.bitmap.beginWrite(r * this.regionBytes, 1);
      if (marking) await marking;
      this.bitmap.endWrite(r * this.regionBytes, 1, false);
    }
    this.bitmap.freeze();
    this.stopResync = false;
    this.resyncRun = this.copyRegions(full ? 'full' : 'fast').catch((error) => {
      if (!(error instanceof PartnerUnreachable)) this.emit('error-log', `resync to ${this.partner.nodeId} stopped: ${(error as Error).message}`);
    });
  }

  private async copyRegions(kind: 'fast' | 'full'): Promise<void> {
    const regionBytes = this.regionBytes;
    const size = this.local.sizeBytes;
    const blockSize = this.local.blockSize;
    const regions = this.bitmap.dirtyRegions();
    const total = Math.min(regions.length * regionBytes, size);
    const started = Date.now();
    this.emitEvent({ type: 'ResyncStarted', partnerNodeId: this.partner.nodeId, direction: 'to-partner', kind, bytes: total });
    const rate = this.config.resyncBytesPerSecond ?? 0;
    let done = 0;
    let lastProgress = Date.now();
    let next = 0;
    // A few regions in flight at once: one at a time would leave both disks idle for a round trip per region.
    const copyOne = async (buf: Buffer): Promise<void> => {
      while (next < regions.length) {
        if (this.stopResync || this.closed) return;
        const region = regions[next++];
        const position = region * regionBytes;
        const length = Math.min(regionBytes, size - position);
        if (length <= 0) continue;
        const first = position / blockSize;
        const blocks = length / blockSize;
        let slot = this.localLock.tryAcquire(first, blocks);
        if (slot < 0) slot = await this.localLock.acquire(first, blocks);
        try {
          await this.local.read(buf, 0, length, position);
          await this.channel.request(FrameType.ResyncData, 0, position, 0, buf, 0, length);
          this.bitmap.cleanRegion(region);
        } finally {
          this.localLock.release(slot);
        }
        done += length;
        this.resyncedBytes += length;
        if (rate > 0) {
          const due = started + (done / rate) * 1000;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
        if (Date.now() - lastProgress >= 1000) {
          lastProgress = Date.now();
          await this.bitmap.flush();
          this.emitEvent({ type: 'ResyncProgress', partnerNodeId: this.partner.nodeId, doneBytes: done, totalBytes: total });
        }
      }
    };
    await Promise.all(Array.from({ length: RESYNC_IN_FLIGHT }, () => copyOne(Buffer.allocUnsafe(regionBytes))));
    if (this.stopResync || this.closed) return;
    await this.local.flush();
    await this.bitmap.flush();
    const reservations = this.prHooks?.snapshot();
    await this.channel.request(FrameType.State, STATE_RESYNC_DONE, 0, 0, Buffer.from(JSON.stringify({ generation: this.generations.state, reservations })));
    await this.setPartnerState('synchronized');
    if (this.peer) this.peer.role = 'serving';
    this.emitEvent({ type: 'ResyncCompleted', partnerNodeId: this.partner.nodeId, kind, bytes: done, seconds: (Date.now() - started) / 1000 });
  }

  /** Operator decision after a split-brain: this replica's data survives; the partner takes a copy of it. */
  async resolveSplitBrainKeepingThis(): Promise<void> {
    if (this.partnerState !== 'split-brain') throw new Error(`device ${this.config.deviceId} is not in split-brain (partner ${this.partnerState})`);
    const reply = await this.channel.request(FrameType.State, STATE_RESOLVE, 0, 0, Buffer.from('{}'));
    const peer = JSON.parse(reply.payload.toString('utf8')) as PeerState;
    this.peer = peer;
    this.emitEvent({ type: 'SplitBrainResolved', partnerNodeId: this.partner.nodeId, survivorNodeId: this.config.localNodeId });
    // Both sides' changes since the split differ: copy the union (everything, if either bitmap is untrusted).
    const set = new Set(this.bitmap.dirtyRegions());
    if (peer.dirty === null) for (let i = 0; i < this.bitmap.regionCount; i++) set.add(i);
    else for (const r of peer.dirty) set.add(r);
    await this.startResyncTo([...set].sort((a, b) => a - b), peer.dirty === null);
  }

  private watchLatency(): void {
    const rtt = this.channel.rttMicros;
    const limit = this.config.latencyAlertMicros ?? 5000;
    if (rtt > limit && Date.now() - this.lastLatencyAlert > 60_000) {
      this.lastLatencyAlert = Date.now();
      this.emitEvent({ type: 'SyncLatencyHigh', partnerNodeId: this.partner.nodeId, rttMicros: rtt });
    }
  }

  // ---------------------------------------------------------------- the data path

  async replicateWrite(buf: Buffer, offset: number, length: number, position: number, fua: boolean): Promise<void> {
    if (this.role !== 'serving') throw unavailable(this.blockReason);
    // While the partner is synchronized the marks are only an activity log (which regions may differ after a crash),
    // so whole 4 MiB extents are marked: a sequential stream pays one durable bitmap write per extent, not per write.
    // Alone, marks are exact: they are what a fast resync will copy.
    const extents = this.partnerReceives;
    const markStart = extents ? position - (position % ACTIVITY_EXTENT_BYTES) : position;
    const markEnd = extents ? Math.min(this.local.sizeBytes, Math.ceil((position + length) / ACTIVITY_EXTENT_BYTES) * ACTIVITY_EXTENT_BYTES) : position + length;
    const markLength = markEnd - markStart;
    const marking = this.bitmap.beginWrite(markStart, markLength);
    if (marking) await marking;
    let partnerHasIt = false;
    try {
      if (this.partnerReceives) {
        const remote = this.channel.request(FrameType.Write, fua ? FrameFlag.Fua : 0, position, 0, buf, offset, length);
        const localWrite = this.local.write(buf, offset, length, position, fua);
        const [l, r] = await Promise.allSettled([localWrite, remote]);
        if (l.status === 'rejected') throw l.reason;
        if (r.status === 'fulfilled') partnerHasIt = true;
        else await this.partnerFailed(r.reason);
      } else {
        await this.local.write(buf, offset, length, position, fua);
      }
    } finally {
      this.bitmap.endWrite(markStart, markLength, partnerHasIt);
    }
    if (!partnerHasIt && this.role !== 'serving') throw unavailable(this.blockReason);
  }

  async replicateDiscard(position: number, length: number): Promise<void> {
    if (this.role !== 'serving') throw unavailable(this.blockReason);
    const discard = this.local.discard?.bind(this.local);
    if (!discard) throw new StoreError('the store cannot deallocate', 'IO');
    const marking = this.bitmap.beginWrite(position, length);
    if (marking) await marking;
    let partnerHasIt = false;
    try {
      if (this.partnerReceives) {
        const lengthField = Buffer.alloc(6);
        lengthField.writeUIntBE(length, 0, 6);
        const remote = this.channel.request(FrameType.Discard, 0, position, length <= 0xffffffff ? length : 0, lengthField);
        const [l, r] = await Promise.allSettled([discard(position, length), remote]);
        if (l.status === 'rejected') throw l.reason;
        if (r.status === 'fulfilled') partnerHasIt = true;
        else await this.partnerFailed(r.reason);
      } else {
        await discard(position, length);
      }
    } finally {
      this.bitmap.endWrite(position, length, partnerHasIt);
    }
    if (!partnerHasIt && this.role !== 'serving') throw unavailable(this.blockReason);
  }

  /** A PERSISTENT RESERVE OUT that changed the state here, applied on the partner before GOOD. */
  async replicatePr(op: unknown, nexus: { initiatorPortName: string; targetPortName: string; relativeTargetPortId: number }): Promise<void> {
    if (this.role !== 'serving') throw unavailable(this.blockReason);
    if (!this.partnerReceives) return;
    try {
      await this.channel.request(FrameType.PrApply, 0, 0, 0, Buffer.from(JSON.stringify({ op, nexus })));
    } catch (error) {
      await this.partnerFailed(error);
      if (this.role !== 'serving') throw unavailable(this.blockReason);
    }
  }

  async replicateFlush(): Promise<void> {
    if (this.role !== 'serving') throw unavailable(this.blockReason);
    if (this.partnerReceives) {
      const [l, r] = await Promise.allSettled([this.local.flush(), this.channel.request(FrameType.Flush, 0, 0, 0)]);
      if (l.status === 'rejected') throw l.reason;
      if (r.status === 'rejected') await this.partnerFailed(r.reason);
    } else {
      await this.local.flush();
    }
  }

  private async partnerFailed(reason: unknown): Promise<void> {
    if (reason instanceof PartnerRefused) {
      // The partner is there but could not apply it (its disk failed): it is no longer a copy of ours.
      if (this.partnerState === 'synchronized' || this.partnerState === 'resync-to-partner') {
        this.stopResync = true;
        await this.markPartnerNotSynchronized(`the partner failed a write: ${reason.message}`);
      }
      return;
    }
    await this.partnerLost(reason instanceof Error ? reason.message : String(reason));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopResync = true;
    clearTimeout(this.startupTimer);
    clearInterval(this.sweepTimer);
    clearInterval(this.latencyTimer);
    this.network.unregister(this.config.deviceId, this.partner.nodeId);
    await this.resyncRun?.catch(() => undefined);
    await this.bitmap.flush().catch(() => undefined);
    await this.bitmap.close();
  }
}

/** The BlockStore the LU sees: reads local, writes mirrored (see HaDevice). */
class ReplicatedStore implements BlockStore {
  readonly kind: BlockStore['kind'];
  readonly location: string;
  readonly blockSize: number;
  readonly thin: boolean;
  readonly discard?: (position: number, length: number) => Promise<void>;
  readonly mappedRanges?: (position: number, length: number, maxRanges: number) => Promise<ByteRange[]>;

  constructor(private readonly device: HaDevice) {
    const local = device.local;
    this.kind = local.kind;
    this.location = `${local.location} (HA ${device.config.deviceId})`;
    this.blockSize = local.blockSize;
    this.thin = local.thin;
    if (local.discard) this.discard = (position, length) => device.replicateDiscard(position, length);
    if (local.mappedRanges) this.mappedRanges = (position, length, max) => this.readable().then(() => local.mappedRanges!(position, length, max));
  }

  get sizeBytes(): number {
    return this.device.local.sizeBytes;
  }

  private readable(): Promise<void> {
    return this.device.role === 'serving' ? Promise.resolve() : Promise.reject(unavailable(this.device.blockReason));
  }

  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    if (this.device.role !== 'serving') return Promise.reject(unavailable(this.device.blockReason));
    return this.device.local.read(buf, bufOffset, length, position);
  }

  write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    return this.device.replicateWrite(buf, bufOffset, length, position, fua);
  }

  flush(): Promise<void> {
    return this.device.replicateFlush();
  }

  async grow(newSizeBytes: number): Promise<void> {
    await this.device.local.grow(newSizeBytes);
    await this.device.bitmap.grow(newSizeBytes);
  }

  async close(): Promise<void> {
    await this.device.close();
    await this.device.local.close();
  }
}

/**
 * The LU's range lock for a HA device: taken at the authority replica (see HaDevice.lockAuthority). Remote grants
 * are numbered from REMOTE_SLOT_BASE so that a slot says where to give it back. If the partner goes away while we
 * wait, the device decides first, then the request goes again to whoever is the authority now.
 */
export class ClusterRangeLock implements RangeLock {
  private readonly remote = new Map<number, { channel: PartnerChannel; slot: number }>();
  private nextRemote = REMOTE_SLOT_BASE;

  constructor(private readonly device: HaDevice) {}

  tryAcquire(first: number, blocks: number): number {
    return this.device.lockAuthority() === 'local' ? this.device.localLock.tryAcquire(first, blocks) : -1;
  }

  async acquire(first: number, blocks: number): Promise<number> {
    for (;;) {
      const authority = this.device.lockAuthority();
      if (authority === 'local') return this.device.localLock.acquire(first, blocks);
      try {
        const reply = await authority.request(FrameType.Lock, 0, first, Math.max(1, blocks));
        const id = this.nextRemote++;
        if (this.nextRemote > 0x7fffffff) this.nextRemote = REMOTE_SLOT_BASE;
        this.remote.set(id, { channel: authority, slot: reply.aux });
        return id;
      } catch (error) {
        if (!(error instanceof PartnerUnreachable)) throw error;
        await this.device.partnerLost(error.message);
      }
    }
  }

  release(slot: number): void {
    if (slot < REMOTE_SLOT_BASE) return this.device.localLock.release(slot);
    const grant = this.remote.get(slot);
    if (!grant) return;
    this.remote.delete(slot);
    if (grant.channel.connected) grant.channel.notify(FrameType.Unlock, 0, 0, grant.slot);
  }
}

async function readPartnerState(file: string): Promise<PersistedPartner> {
  try {
    const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as PersistedPartner;
    if (parsed.state === 'synchronized' || parsed.state === 'not-synchronized') return parsed;
  } catch {
    // absent: a new replica starts as a copy of its partner (initial sync decided by the generations)
  }
  return { state: 'synchronized' };
}
