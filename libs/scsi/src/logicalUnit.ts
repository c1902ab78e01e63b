/**
 * A logical unit: one BlockStore presented as an SBC-3 direct-access block device, with its
 * identity (the same on every replica of a HA device), mode pages and unit attention queues.
 */
import { createHash } from 'crypto';
import { BlockStore } from '@tandem/storage';
import { ModePageState } from './modePages';
import { Asc, FieldPointer, SenseKey, buildSense, checkCondition } from './sense';
import { ScsiTask } from './task';
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
}

export const DEFAULT_MAX_TRANSFER_BYTES = 16 * 1024 * 1024;

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

export class LogicalUnit {
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

  /** LOGICAL UNIT RESET: mode pages back to defaults, BUS DEVICE RESET FUNCTION OCCURRED for all. */
  reset(): void {
    this.modePages.resetToDefaults();
    this.unitAttentions.raiseAll(Asc.BusDeviceResetFunctionOccurred);
  }

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
