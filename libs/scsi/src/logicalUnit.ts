/**
 * A logical unit: one BlockStore presented as an SBC-3 direct-access block device, with its
 * identity (the same on every replica of a HA device), mode pages and unit attention queues.
 */
import { createHash } from 'crypto';
import { BlockStore } from '@tandem/storage';
import { AluaAccessState, AluaState, AluaStatusCode } from './alua';
import { LbaRangeLock, type RangeLock } from './lbaRangeLock';
import { ModePageState } from './modePages';
import { PersistentReservations } from './persistentReservations';
import { loadPrState } from './prStateFile';
import { Asc, FieldPointer, SenseKey, buildSense, checkCondition } from './sense';
import { ItNexus, ScsiTask } from './task';
import { UnitAttentions } from './unitAttention';

export interface LogicalUnitIdentity {
  /** Stable id of the device (the same on every replica); VPD 0x83 designators derive from it. */
  deviceId: string;
  /** Human name of the device, for logs. */
  name?: string;
  /** Unit serial number (VPD 0x80); derived from deviceId when absent. Printable ASCII. */
  serial?: string;
  /** T10 vendor identification, at most 8 characters. */
  vendor?: string;
  /** Product identification, at most 16 characters. */
  product?: string;
  /** Product revision level, at most 4 characters. */
  revision?: string;
}

export interface LogicalUnitOptions {
  store: BlockStore;
  identity: LogicalUnitIdentity;
  /** Largest READ/WRITE/VERIFY in bytes (VPD 0xB0 MAXIMUM TRANSFER LENGTH); default 16 MiB. */
  maxTransferBytes?: number;
  /** Physical block size reported by READ CAPACITY(16); default 4096 (at least the logical block size). */
  physicalBlockSize?: number;
  /**
   * Where persistent reservations are kept when an initiator sets APTPL (e.g. `<image>.pr.json`); state found
   * there is restored now. Without it APTPL is not offered and reservations end with the process.
   */
  prStatePath?: string;
  /** ALUA access state per target port group id (portal group tag); groups not named are active/optimized. */
  aluaStates?: Readonly<Record<number, AluaAccessState>>;
  /** The lock writers hold (a HA device's cluster-wide one); default a lock of this node only. */
  lbaLock?: RangeLock;
  /**
   * Initial WCE of the caching mode page (default on: the store holds completed writes in a volatile cache until
   * SYNCHRONIZE CACHE or FUA). Off for a write-through LU: every write is then durable before GOOD.
   */
  writeCache?: boolean;
  /**
   * Write-protected (a snapshot exported as a LU): commands that change the medium fail with DATA PROTECT / WRITE
   * PROTECTED, and MODE SENSE reports WP.
   */
  readOnly?: boolean;
}

export const DEFAULT_MAX_TRANSFER_BYTES = 16 * 1024 * 1024;
/** VPD B0h MAXIMUM COMPARE AND WRITE LENGTH (the field is one byte). */
export const MAX_COMPARE_AND_WRITE_BLOCKS = 255;
/** VPD B0h MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT. */
export const MAX_UNMAP_DESCRIPTORS = 256;
/** VPD B0h MAXIMUM UNMAP LBA COUNT: 1 GiB, at most 2^20 blocks (what initiators treat as a sane explicit limit). */
export const MAX_UNMAP_BYTES = 1024 * 1024 * 1024;
export const MAX_UNMAP_BLOCKS = 1024 * 1024;

/** Identity with every field filled and already padded/cut to its INQUIRY width. */
export interface ResolvedIdentity {
  readonly deviceId: string;
  readonly name: string;
  readonly serial: string;
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
  /** NAA locally assigned (type 3) designator, 8 bytes. */
  readonly naa: Buffer;
}

/** Told when each command to a LU starts and ends (per-LU telemetry); must be cheap and must not throw. */
export interface CommandObserver {
  /** Returns a start mark handed back to `completed`. */
  started(): number;
  completed(task: ScsiTask, startedAt: number): void;
}

/**
 * How a HA device keeps reservations one across its replicas: every PERSISTENT RESERVE OUT that changed the state
 * here is applied on the partners too before GOOD (the PR OUTs are serialised cluster-wide by `lbaLock`). Rejects
 * with a StoreError('UNAVAILABLE') when this replica may no longer serve.
 */
export interface PrReplicator {
  replicate(op: unknown, nexus: { initiatorPortName: string; targetPortName: string; relativeTargetPortId: number }): Promise<void>;
}

/** The LBA `lbaLock` is taken at to serialise PERSISTENT RESERVE OUT (beyond any real block). */
export const PR_LOCK_LBA = Number.MAX_SAFE_INTEGER - 1;

export class LogicalUnit {
  /** Set for a HA replica (libs/replication). */
  prReplicator: PrReplicator | null = null;
  /** Optional per-command observer (the node's I/O counters); null costs one check per command. */
  observer: CommandObserver | null = null;
  readonly store: BlockStore;
  readonly identity: ResolvedIdentity;
  readonly blockSize: number;
  /** Capacity in logical blocks; changes only through `grow`. */
  blockCount: number;
  readonly maxTransferBlocks: number;
  /** Log2 of logical blocks per physical block (READ CAPACITY(16) LBPPBE). */
  readonly blocksPerPhysicalBlockExponent: number;
  readonly modePages = new ModePageState();
  readonly unitAttentions = new UnitAttentions();
  /** Persistent reservations and RESERVE(6) (persistentReservations.ts); PR OUT goes through persistentReserveOut.ts. */
  readonly reservations: PersistentReservations;
  readonly prStatePath: string | null;
  /** PR OUT commands run one at a time (each is persisted before the next applies). */
  prOutQueue: Promise<void> = Promise.resolve();
  /** I_T nexuses seen on this LU, by id: unit attentions and aborts from reservations are matched against them. */
  readonly nexuses = new Map<string, ItNexus>();
  /** Set by the target: aborts the tasks of these nexuses on this LU (PREEMPT AND ABORT). */
  abortTasksOf: ((nexusIds: readonly string[]) => void) | null = null;
  /** Access state per target port group (alua.ts); change it through `setAccessState`. */
  readonly alua: AluaState;
  /** Writers (WRITE, WRITE SAME, UNMAP, COMPARE AND WRITE) hold their LBA range while they run. */
  readonly lbaLock: RangeLock;
  /**
   * Logical block provisioning management (LBPME): a thin store that can deallocate. Only then are
   * UNMAP, WRITE SAME's UNMAP bit and GET LBA STATUS offered; a thick LU answers as fully provisioned.
   */
  readonly thinProvisioned: boolean;
  /** Write-protected (see LogicalUnitOptions.readOnly). */
  readonly readOnly: boolean;
  /** VPD B0h limits that depend on the block size. */
  readonly maxCompareAndWriteBlocks: number;
  readonly maxUnmapBlocks: number;
  readonly maxUnmapDescriptors = MAX_UNMAP_DESCRIPTORS;
  /** WRITE SAME moves at most as many blocks as one WRITE (VPD B0h MAXIMUM WRITE SAME LENGTH). */
  readonly maxWriteSameBlocks: number;
  /** OPTIMAL UNMAP GRANULARITY: the image file system's 4 KiB allocation unit. */
  readonly unmapGranularityBlocks: number;

  constructor(options: LogicalUnitOptions) {
    const { store } = options;
    this.store = store;
    this.blockSize = store.blockSize;
    this.blockCount = Math.floor(store.sizeBytes / store.blockSize);
    const maxBytes = options.maxTransferBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
    this.maxTransferBlocks = Math.max(1, Math.floor(maxBytes / this.blockSize));
    const physical = Math.max(options.physicalBlockSize ?? 4096, this.blockSize);
    this.blocksPerPhysicalBlockExponent = Math.max(0, Math.round(Math.log2(physical / this.blockSize)));
    this.identity = resolveIdentity(options.identity);
    this.prStatePath = options.prStatePath ?? null;
    this.reservations = new PersistentReservations(this.prStatePath ? (loadPrState(this.prStatePath) ?? undefined) : undefined);
    this.lbaLock = options.lbaLock ?? new LbaRangeLock();
    this.readOnly = options.readOnly === true;
    if (options.writeCache === false) this.modePages.setWriteCacheDefault(false);
    this.alua = new AluaState(Object.entries(options.aluaStates ?? {}).map(([group, state]) => [Number(group), state] as const));
    this.thinProvisioned = store.thin && typeof store.discard === 'function' && typeof store.mappedRanges === 'function';
    this.maxCompareAndWriteBlocks = Math.min(MAX_COMPARE_AND_WRITE_BLOCKS, Math.max(1, Math.floor(this.maxTransferBlocks / 2)));
    this.maxUnmapBlocks = Math.min(MAX_UNMAP_BLOCKS, Math.floor(MAX_UNMAP_BYTES / this.blockSize));
    this.maxWriteSameBlocks = this.maxTransferBlocks;
    this.unmapGranularityBlocks = Math.max(1, 4096 / this.blockSize);
  }

  /** Grows the store online and tells every initiator CAPACITY DATA HAS CHANGED. */
  async grow(newSizeBytes: number): Promise<void> {
    await this.store.grow(newSizeBytes);
    const count = Math.floor(this.store.sizeBytes / this.blockSize);
    if (count !== this.blockCount) {
      this.blockCount = count;
      this.unitAttentions.raiseAll(Asc.CapacityDataHasChanged);
    }
  }

  /**
   * Sets the ALUA access state of this LU through one target port group. A change raises ASYMMETRIC ACCESS
   * STATE CHANGED on every nexus of the LU (except `exceptNexusId`, the one that asked by SET TARGET PORT
   * GROUPS); returns false when the group already was in that state.
   */
  setAccessState(groupId: number, state: AluaAccessState, exceptNexusId?: string, status = AluaStatusCode.AlteredByImplicitBehavior): boolean {
    if (!this.alua.set(groupId, state, status)) return false;
    this.unitAttentions.raiseAll(Asc.AsymmetricAccessStateChanged, exceptNexusId);
    return true;
  }

  /**
   * LOGICAL UNIT RESET: mode pages back to defaults, BUS DEVICE RESET FUNCTION OCCURRED for all. A HA replica
   * resets the partner's side of the LU too (its nexuses get the unit attention); `fromPartner` stops the echo.
   */
  reset(fromPartner = false): void {
    this.modePages.resetToDefaults();
    this.reservations.apply({ kind: 'reset' }, NO_NEXUS); // RESERVE(6) ends; persistent reservations stay
    this.unitAttentions.raiseAll(Asc.BusDeviceResetFunctionOccurred);
    if (!fromPartner && this.prReplicator !== null) this.resetReplication = this.prReplicator.replicate({ kind: 'reset' }, NO_NEXUS).catch(() => undefined);
  }

  /** The last LOGICAL UNIT RESET reaching the partners (the TMF response waits for it); null when none is pending. */
  resetReplication: Promise<void> | null = null;

  // ---- failures, in the sense format the initiator chose (control page D_SENSE) ----

  fail(task: ScsiTask, key: SenseKey, asc: Asc, information?: number, field?: FieldPointer): void {
    checkCondition(task, buildSense(key, asc, this.modePages.descriptorSense, information, field));
  }

  invalidFieldInCdb(task: ScsiTask, byte: number, bit?: number): void {
    this.fail(task, SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, undefined, { inCdb: true, byte, bit });
  }

  invalidFieldInParameterList(task: ScsiTask, byte: number, bit?: number): void {
    this.fail(task, SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, undefined, { inCdb: false, byte, bit });
  }

  lbaOutOfRange(task: ScsiTask): void {
    this.fail(task, SenseKey.IllegalRequest, Asc.LbaOutOfRange);
  }

  /** True (and the task failed) when [lba, lba + blocks) is not inside the LU. */
  outOfRange(task: ScsiTask, lba: number, blocks: number): boolean {
    const count = this.blockCount;
    if (lba < count && lba + blocks <= count) return false;
    this.lbaOutOfRange(task);
    return true;
  }
}

/** Operations that name no nexus (resets) are applied on behalf of this one. */
const NO_NEXUS = { initiatorPortName: '', targetPortName: '', relativeTargetPortId: 0 };

/** A nexus starts being tracked by this LU (unit attention queue, reservation effects). */
export function trackNexus(lu: LogicalUnit, nexus: ItNexus): void {
  lu.nexuses.set(nexus.id, nexus);
  lu.unitAttentions.track(nexus.id);
}

function resolveIdentity(identity: LogicalUnitIdentity): ResolvedIdentity {
  const digest = createHash('sha256').update(`tandem-lu:${identity.deviceId}`).digest();
  const naa = Buffer.from(digest.subarray(0, 8));
  naa[0] = 0x30 | (naa[0] & 0x0f); // NAA 3: locally assigned
  return {
    deviceId: identity.deviceId,
    name: identity.name ?? identity.deviceId,
    serial: printable(identity.serial ?? digest.subarray(8, 16).toString('hex').toUpperCase(), 252),
    vendor: padded(identity.vendor ?? 'TANDEM', 8),
    product: padded(identity.product ?? 'vDisk', 16),
    revision: padded(identity.revision ?? '0001', 4),
    naa,
  };
}

/** SPC-4 4.4.1: ASCII data fields hold 20h-7Eh only. */
function printable(text: string, max: number): string {
  return text.replace(/[^\x20-\x7e]/g, '_').slice(0, max);
}

function padded(text: string, width: number): string {
  return printable(text, width).padEnd(width, ' ');
}
