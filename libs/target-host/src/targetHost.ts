/**
 * Brings a node's data plane up from a HostConfig: opens the stores, builds logical units and SCSI targets,
 * starts the iSCSI server; changes targets and LUNs live (other sessions carry on); and takes it down again with
 * every store flushed.
 */
import { createHash } from 'crypto';
import { IscsiServer, Logger } from '@tandem/iscsi';
import { AluaAccessState, LogicalUnit, LuRegistry, MAX_LUN, ScsiTarget, applyReservationOperation, persistReservations } from '@tandem/scsi';
import { HaDevice, SyncNetwork, seedInitialSync, type HaEvent } from '@tandem/replication';
import * as path from 'path';
import { BlockStore, CachedStore, FlatStore, LsfsStore, type LsfsSnapshot } from '@tandem/storage';
import { HostConfig, HostConfigError, LunConfig, TargetConfig, lunSchema, parseHostConfig, targetSchema } from './hostConfig';
import { LuStats } from './luStats';

export interface HostedLun {
  target: string;
  lun: number;
  deviceId: string;
  store: BlockStore;
  unit: LogicalUnit;
  /** Commands, bytes and latency of this LU, fed by the data path. */
  stats: LuStats;
  /** How it was configured, with the store entry as it must be reopened after a restart. */
  config: LunConfig;
  /** Set when the LUN is one replica of a HA device. */
  ha?: HaDevice;
  /** The LSFS store under the LU (live LUNs of kind lsfs): its snapshots can be exported and managed. */
  lsfs?: LsfsStore;
}

/** What a HA LUN opens with: the node's sync network, the port groups it is exported through, who hears events. */
interface HaContext {
  network: SyncNetwork | null;
  portGroups: number[];
  onEvent: (lun: HostedLun, event: HaEvent) => void;
  /** Warnings about a LU's set-up (e.g. a small cache). */
  log?: (message: string) => void;
  /** The LSFS store this node already serves live from `dir` (a snapshot LU reads through it). */
  findLsfs?: (dir: string) => LsfsStore | undefined;
}

interface HostedTarget {
  config: Omit<TargetConfig, 'luns'>;
  device: ScsiTarget;
}

/** How long a withdrawn LU's commands in flight get to finish before its store closes under them. */
const DRAIN_MS = 2000;

export class TargetHost {
  private constructor(
    private readonly baseConfig: HostConfig,
    readonly server: IscsiServer,
    private readonly hosted: HostedLun[],
    private readonly log: Logger,
    /** Per target name (lower case), in configuration order. */
    private readonly targets: Map<string, HostedTarget>,
    /** One registry for the node: EXTENDED COPY may copy between any two LUs of it, across targets. */
    private readonly registry: LuRegistry,
    /** Sync and heartbeat channels of the node's HA LUNs (null without a replication section). */
    readonly network: SyncNetwork | null,
  ) {}

  /** HA devices report here (replica synchronized, blocked, resync progress, …); the node agent forwards them. */
  onHaEvent: (lun: HostedLun, event: HaEvent) => void = (lun, event) => this.log.info({ target: lun.target, lun: lun.lun, ...event }, 'HA event');

  private haContext(): HaContext {
    return {
      network: this.network,
      portGroups: this.server.portalGroupTags(),
      onEvent: (l, e) => this.onHaEvent(l, e),
      log: (m) => this.log.warn({}, m),
      findLsfs: (dir) => findLsfs(this.hosted, dir),
    };
  }

  /** LUs presented right now. */
  get luns(): readonly HostedLun[] {
    return this.hosted;
  }

  /**
   * The configuration as it stands after live changes, ready to be written back to the config file: every image
   * is reopened as it is (no `create`, no size: the file holds the size, so a grow cannot disagree with it).
   */
  get config(): HostConfig {
    return {
      ...this.baseConfig,
      targets: [...this.targets.values()].map((t) => ({
        ...t.config,
        luns: this.hosted.filter((h) => h.target === t.config.name).sort((a, b) => a.lun - b.lun).map((h) => h.config),
      })),
    };
  }

  /**
   * Sets the ALUA access state of one LU through one target port group (portal group tag), live: initiators
   * see ASYMMETRIC ACCESS STATE CHANGED and REPORT TARGET PORT GROUPS reports the new state. False when the
   * group already was in that state.
   */
  setAluaState(target: string, lun: number, portGroup: number, state: AluaAccessState): boolean {
    const device = this.requireTarget(target).device;
    const changed = device.setAccessState(lun, portGroup, state);
    if (changed) this.log.info({ target, lun, portGroup, state }, 'ALUA access state changed');
    return changed;
  }

  /** The SCSI target device of a target (for the HA layer: port groups, access states, reservations). */
  device(target: string): ScsiTarget | undefined {
    return this.targets.get(target.toLowerCase())?.device;
  }

  findLun(target: string, lun: number): HostedLun | undefined {
    return this.hosted.find((h) => h.lun === lun && h.target.toLowerCase() === target.toLowerCase());
  }

  findDevice(deviceId: string): HostedLun | undefined {
    return this.hosted.find((h) => h.deviceId === deviceId);
  }

  /** Lowest LUN number free on a target (0 for a target that does not exist yet). */
  freeLun(target: string): number {
    const used = new Set(this.hosted.filter((h) => h.target.toLowerCase() === target.toLowerCase()).map((h) => h.lun));
    for (let lun = 0; lun <= MAX_LUN; lun++) if (!used.has(lun)) return lun;
    throw new HostConfigError(`target ${target} has no free LUN`);
  }

  /**
   * Adds a target with its LUNs to the running server; sessions of other targets are untouched. On failure
   * nothing stays open or registered.
   */
  async addTarget(input: unknown): Promise<void> {
    const t = parseWith('target', targetSchema, input);
    if (this.targets.has(t.name.toLowerCase())) throw new HostConfigError(`target ${t.name} already exists`);
    checkLuns(t, new Set(this.server.portalGroupTags()), this.baseConfig.replication);
    const device = new ScsiTarget({ registry: this.registry });
    const opened: HostedLun[] = [];
    try {
      for (const l of t.luns) opened.push(await openLun(t.name, l, this.haContext()));
      for (const h of opened) device.addLun(h.lun, h.unit);
      this.server.addTarget({ name: t.name, alias: t.alias, device, chap: t.chap, portalGroupTags: t.portalGroupTags });
    } catch (err) {
      for (const h of opened) device.removeLun(h.lun);
      await Promise.allSettled(opened.map((h) => h.store.close()));
      throw err;
    }
    const { luns: _luns, ...targetOnly } = t;
    this.targets.set(t.name.toLowerCase(), { config: targetOnly, device });
    this.hosted.push(...opened);
    this.log.info({ target: t.name, luns: opened.map((h) => h.lun) }, 'target added');
  }

  /** Ends the target's sessions, withdraws it and closes its stores. False for an unknown target. */
  async removeTarget(name: string): Promise<boolean> {
    const t = this.targets.get(name.toLowerCase());
    if (!t) return false;
    this.server.removeTarget(name);
    this.targets.delete(name.toLowerCase());
    const gone = this.hosted.filter((h) => h.target.toLowerCase() === name.toLowerCase());
    for (const h of gone) {
      t.device.removeLun(h.lun);
      this.hosted.splice(this.hosted.indexOf(h), 1);
    }
    await Promise.all(gone.map((h) => this.drainAndClose(h)));
    this.log.info({ target: name }, 'target removed');
    return true;
  }

  /**
   * Presents a new LU on a running target; initiators logged in to it see REPORTED LUNS DATA HAS CHANGED and
   * keep their sessions.
   */
  async addLun(target: string, input: unknown): Promise<HostedLun> {
    const t = this.requireTarget(target);
    const l = parseWith(`target ${target} LUN`, lunSchema, input);
    if (this.findLun(target, l.lun)) throw new HostConfigError(`target ${target}: LUN ${l.lun} is already in use`);
    checkLuns({ ...t.config, luns: [l] }, new Set(this.server.portalGroupTags()), this.baseConfig.replication);
    const hosted = await openLun(t.config.name, l, this.haContext());
    try {
      t.device.addLun(hosted.lun, hosted.unit);
    } catch (err) {
      await hosted.store.close();
      throw err;
    }
    this.hosted.push(hosted);
    this.log.info({ target, lun: l.lun, deviceId: hosted.deviceId, sizeBytes: hosted.store.sizeBytes }, 'LUN added');
    return hosted;
  }

  /**
   * Withdraws a LU (REPORTED LUNS DATA HAS CHANGED for the others), lets its commands in flight finish and closes
   * its store; the image stays. False when there was no such LUN.
   */
  async removeLun(target: string, lun: number): Promise<boolean> {
    const t = this.requireTarget(target);
    const hosted = this.findLun(target, lun);
    if (!hosted) return false;
    const readers = hosted.lsfs ? this.hosted.filter((h) => h !== hosted && h.store.kind === 'lsfs' && h.config.store.kind === 'lsfs' && h.config.store.snapshot !== undefined && path.resolve(h.config.store.path) === path.resolve(hosted.lsfs!.location)) : [];
    if (readers.length > 0) {
      throw new HostConfigError(`target ${target} LUN ${lun}: its snapshots are exported as ${readers.map((r) => `${r.target} LUN ${r.lun}`).join(', ')}; remove those first`);
    }
    t.device.removeLun(hosted.lun);
    this.hosted.splice(this.hosted.indexOf(hosted), 1);
    await this.drainAndClose(hosted);
    this.log.info({ target, lun, deviceId: hosted.deviceId }, 'LUN removed');
    return true;
  }

  /**
   * Grows a LU online (never shrinks: a smaller size is refused); its initiators see CAPACITY DATA HAS CHANGED.
   * Returns the previous size in bytes.
   */
  async resizeLun(target: string, lun: number, newSizeBytes: number): Promise<number> {
    this.requireTarget(target);
    const hosted = this.findLun(target, lun);
    if (!hosted) throw new HostConfigError(`target ${target} has no LUN ${lun}`);
    const previous = hosted.store.sizeBytes;
    if (!Number.isSafeInteger(newSizeBytes) || newSizeBytes < previous) {
      throw new HostConfigError(`target ${target} LUN ${lun}: cannot resize from ${previous} to ${newSizeBytes} bytes (grow only)`);
    }
    if (newSizeBytes === previous) return previous;
    await hosted.unit.grow(newSizeBytes);
    this.log.info({ target, lun, from: previous, to: newSizeBytes }, 'LUN grown');
    return previous;
  }

  /** Validates the config, opens everything, listens. On any failure, what was opened is closed again. */
  static async start(input: unknown, log: Logger): Promise<TargetHost> {
    const config = parseHostConfig(input);
    const opened: HostedLun[] = [];
    let network: SyncNetwork | null = null;
    let host: TargetHost | null = null;
    try {
      if (config.replication) {
        network = new SyncNetwork({
          nodeId: config.replication.nodeId,
          syncListen: config.replication.sync,
          heartbeatListen: config.replication.heartbeat,
          log: (message) => log.warn({ component: 'sync' }, message),
        });
        await network.start();
      }
      const context: HaContext = {
        network,
        portGroups: [...new Set(config.portals.map((p) => p.portalGroupTag))].sort((a, b) => a - b),
        onEvent: (l, e) => host?.onHaEvent(l, e),
        log: (m) => log.warn({}, m),
        findLsfs: (dir) => findLsfs(opened, dir),
      };
      const server = new IscsiServer({
        portals: config.portals.map((p) => ({ ...p })),
        discoveryChap: config.discoveryChap,
        queueDepth: config.queueDepth,
        nopIntervalMs: config.nopIntervalSeconds * 1000,
        nopTimeoutMs: config.nopTimeoutSeconds * 1000,
        limits: config.maxRecvDataSegmentLength ? { maxRecvDataSegmentLength: config.maxRecvDataSegmentLength } : undefined,
        logger: log,
      });
      const targets = new Map<string, HostedTarget>();
      const registry = new LuRegistry();
      for (const t of config.targets) {
        const device = new ScsiTarget({ registry });
        const { luns: _luns, ...targetOnly } = t;
        targets.set(t.name.toLowerCase(), { config: targetOnly, device });
        server.addTarget({ name: t.name, alias: t.alias, device, chap: t.chap, portalGroupTags: t.portalGroupTags });
      }
      // Live LUNs first, then snapshot LUNs: a snapshot of a store served here reads through that open store.
      const isSnapshot = (l: LunConfig) => l.store.kind === 'lsfs' && l.store.snapshot !== undefined;
      for (const phase of [false, true]) {
        for (const t of config.targets) {
          for (const l of t.luns) {
            if (isSnapshot(l) !== phase) continue;
            const hosted = await openLun(t.name, l, context);
            opened.push(hosted);
            targets.get(t.name.toLowerCase())!.device.addLun(hosted.lun, hosted.unit);
          }
        }
      }
      await server.start();
      host = new TargetHost(config, server, opened, log, targets, registry, network);
      return host;
    } catch (err) {
      await Promise.allSettled(opened.map((h) => h.store.close()));
      await network?.stop();
      throw err;
    }
  }

  /** Stops accepting, asks initiators to log out, flushes and closes every store. */
  async stop(graceMs = 1000): Promise<void> {
    await this.server.stop(graceMs);
    const results = await Promise.allSettled(this.hosted.map((h) => h.store.close()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log.error({ store: this.hosted[i].store.location, err: String(r.reason) }, 'store did not close cleanly');
    });
    await this.network?.stop();
  }

  private requireTarget(name: string): HostedTarget {
    const t = this.targets.get(name.toLowerCase());
    if (!t) throw new HostConfigError(`no target ${name}`);
    return t;
  }

  private async drainAndClose(hosted: HostedLun): Promise<void> {
    const deadline = Date.now() + DRAIN_MS;
    while (hosted.stats.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    try {
      await hosted.store.close();
    } catch (err) {
      this.log.error({ store: hosted.store.location, err: String(err) }, 'store did not close cleanly');
    }
  }
}

function parseWith<T>(what: string, schema: { safeParse(input: unknown): { success: true; data: T } | { success: false; error: { issues: { path: (string | number)[]; message: string }[] } } }, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new HostConfigError(`invalid ${what}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}

/** The per-target rules `parseHostConfig` applies, for targets and LUNs added live. */
function checkLuns(t: TargetConfig, portalGroups: Set<number>, replication?: HostConfig['replication']): void {
  parseHostConfig({ portals: [...portalGroups].map((tag) => ({ host: '127.0.0.1', port: 0, portalGroupTag: tag })), targets: [t], replication });
}

/** A LSFS snapshot as a read-only LU, read through the live store when this node serves it, else through its own. */
async function openSnapshotLun(targetName: string, l: LunConfig, context: HaContext): Promise<HostedLun> {
  if (l.store.kind !== 'lsfs' || l.store.snapshot === undefined) throw new Error('not a snapshot LUN');
  const name = l.store.snapshot;
  const live = context.findLsfs?.(path.resolve(l.store.path));
  const owned = live ? null : await LsfsStore.open({ path: l.store.path, create: false, indexCacheBytes: l.store.indexCacheBytes });
  let snapshot: LsfsSnapshot;
  try {
    snapshot = (live ?? owned!).openSnapshot(name);
  } catch (err) {
    await owned?.close();
    throw err;
  }
  if (owned) {
    const closeSnapshot = snapshot.close.bind(snapshot);
    snapshot.close = async () => {
      await closeSnapshot();
      await owned.close();
    };
  }
  const deviceId = l.deviceId ?? derivedDeviceId(targetName, l.lun);
  const unit = new LogicalUnit({
    store: snapshot,
    identity: { deviceId, name: l.name ?? `${targetName.split(':').pop()}-lun${l.lun}-${name}` },
    prStatePath: `${l.store.path}.snap-${name}.pr.json`,
    physicalBlockSize: l.physicalBlockSize,
    aluaStates: l.alua,
    readOnly: true,
  });
  const stats = new LuStats();
  unit.observer = stats;
  return { target: targetName, lun: l.lun, deviceId, store: snapshot, unit, stats, config: l };
}

async function openLun(targetName: string, l: LunConfig, context: HaContext): Promise<HostedLun> {
  if (l.store.kind === 'lsfs' && l.store.snapshot !== undefined) return openSnapshotLun(targetName, l, context);
  const raw: BlockStore =
    l.store.kind === 'lsfs'
      ? await LsfsStore.open({
          path: l.store.path,
          sizeBytes: l.store.sizeBytes,
          blockSize: l.blockSize,
          create: l.store.create,
          segmentBytes: l.store.segmentBytes,
          indexCacheBytes: l.store.indexCacheBytes,
        })
      : await FlatStore.open({
          path: l.store.path,
          sizeBytes: l.store.sizeBytes,
          blockSize: l.blockSize,
          create: l.store.create,
          thin: l.store.thin,
        });
  // The cache sits on the replica's own store, under replication: a HA write is GOOD once in every replica's cache.
  const cache = l.cache
    ? new CachedStore(raw, {
        mode: l.cache.mode === 'write-back' ? 'WRITE_BACK' : l.cache.mode === 'write-through' ? 'WRITE_THROUGH' : 'NONE',
        sizeBytes: l.cache.sizeBytes,
        onWarning: (message) => context.log?.(message),
      })
    : null;
  const local: BlockStore = cache ?? raw;
  let ha: HaDevice | undefined;
  try {
    const deviceId = l.deviceId ?? derivedDeviceId(targetName, l.lun);
    if (l.ha) {
      if (!context.network) throw new HostConfigError(`target ${targetName} LUN ${l.lun} is a HA replica, but the node has no replication section`);
      const localPortGroup = l.ha.portGroup ?? context.portGroups[0] ?? 1;
      if (l.ha.initialSync && l.ha.initialGeneration) {
        await seedInitialSync(`${l.store.path}.ha`, l.ha.initialSync, l.ha.initialGeneration, l.ha.partners.map((p) => p.nodeId));
      }
      ha = await HaDevice.open(
        local,
        {
          deviceId,
          localNodeId: context.network.nodeId,
          priority: l.ha.priority,
          localPortGroup,
          preferredAccessState: l.ha.accessState,
          strategy: l.ha.strategy,
          witness: l.ha.witness,
          partners: l.ha.partners,
          // Generation, bitmap and partner state live beside the image, so they follow it.
          stateDir: `${l.store.path}.ha`,
          regionBytes: l.ha.regionBytes,
          initialGeneration: l.ha.initialGeneration,
          resyncBytesPerSecond: l.ha.resyncBytesPerSecond,
          startupWaitMs: l.ha.startupWaitMs,
        },
        context.network,
      );
    }
    const store = ha ? ha.store : local;
    const unit = new LogicalUnit({
      store,
      identity: { deviceId, name: l.name ?? `${targetName.split(':').pop()}-lun${l.lun}` },
      // APTPL state lives beside the image, so it follows the device if the image moves.
      prStatePath: `${l.store.path}.pr.json`,
      physicalBlockSize: l.physicalBlockSize,
      aluaStates: l.alua,
      lbaLock: ha?.lock,
      writeCache: l.cache ? l.cache.mode !== 'write-through' : undefined,
      readOnly: l.readOnly,
    });
    const { sizeBytes: _size, create: _create, ...reopen } = l.store;
    const stats = new LuStats();
    unit.observer = stats;
    stats.cache = cache;
    const hosted: HostedLun = { target: targetName, lun: l.lun, deviceId, store, unit, stats, config: { ...l, store: { ...reopen, create: false } }, ha, lsfs: raw instanceof LsfsStore ? raw : undefined };
    if (ha) wireHaAccess(hosted, ha, context);
    // A partner that stops being synchronized no longer holds copies of what our cache holds: write it out now.
    if (ha && cache) {
      ha.on('event', (event: HaEvent) => {
        if (event.type === 'ReplicaNotSynchronized') void cache.flushDirty().catch((err: Error) => context.log?.(`cache flush after losing the partner failed: ${err.message}`));
      });
    }
    return hosted;
  } catch (err) {
    if (ha) await ha.close().catch(() => undefined);
    await local.close();
    throw err;
  }
}

/**
 * The LU's ALUA states follow the HA device: this node's port group serves, stands by or is unavailable as the
 * replica does, the partner's group is reported as the partner says (out of reach: unavailable from a serving
 * replica, which has dropped it or is deciding; its last word from one that does not serve — see HaDevice).
 */
function wireHaAccess(hosted: HostedLun, ha: HaDevice, context: HaContext): void {
  const unit = hosted.unit;
  const local = ha.config.localPortGroup;
  unit.alua.setRemotePortGroups(ha.config.partners.map((p) => ({ id: p.portGroup, relativeTargetPortIds: [p.portGroup] })));
  const apply = (group: number, state: AluaAccessState) => unit.setAccessState(group, state);
  apply(local, ha.accessState);
  for (const p of ha.partners) apply(p.cfg.portGroup, p.accessState);
  ha.on('access', (state: AluaAccessState) => apply(local, state));
  ha.on('partner-access', (state: AluaAccessState, nodeId: string) => {
    const p = ha.partnerById(nodeId);
    if (p) apply(p.cfg.portGroup, state);
  });
  ha.on('event', (event: HaEvent) => context.onEvent(hosted, event));
  ha.on('error-log', (message: string) => context.log?.(message));
  // Reservations are one across the replicas: PR OUT applied on both, the state copied with a resync.
  unit.prReplicator = { replicate: (op, nexus) => ha.replicatePr(op, nexus) };
  ha.prHooks = {
    apply: async (op, nexus) => {
      // A LOGICAL UNIT RESET on the partner resets this side of the LU as well (unit attentions to our nexuses).
      if ((op as { kind?: string }).kind === 'reset') return unit.reset(true);
      applyReservationOperation(unit, op as never, nexus);
      await persistReservations(unit);
    },
    snapshot: () => unit.reservations.snapshot(),
    restore: async (snapshot) => {
      unit.reservations.restore(snapshot as never);
      await persistReservations(unit);
    },
  };
}

/** Stable identity for a LUN configured without one: the same target name and LUN give the same designators. */
function findLsfs(hosted: readonly HostedLun[], dir: string): LsfsStore | undefined {
  return hosted.find((h) => h.lsfs && path.resolve(h.lsfs.location) === dir)?.lsfs;
}

export function derivedDeviceId(targetName: string, lun: number): string {
  return createHash('sha256').update(`${targetName.toLowerCase()}/lun/${lun}`).digest('hex').slice(0, 32);
}
