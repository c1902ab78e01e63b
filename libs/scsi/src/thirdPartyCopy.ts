/**
 * The copy manager of a LU (SPC-4 5.16, EXTENDED COPY LID1): the limits it advertises (VPD 8Fh and RECEIVE COPY
 * RESULTS OPERATING PARAMETERS report the same numbers, and extendedCopy.ts enforces them) and the per-I_T-nexus
 * status of recent copies that RECEIVE COPY RESULTS COPY STATUS reads.
 */
import { Opcode } from './cdb';
import { LogicalUnit } from './logicalUnit';

/** CSCD descriptor type: identification descriptor (names a LU by a VPD 83h designator). */
export const CSCD_IDENTIFICATION = 0xe4;
/** Segment descriptor type: block device to block device. */
export const SEGMENT_BLOCK_TO_BLOCK = 0x02;

export const COPY_LIMITS = {
  /** MAXIMUM CSCD (target) DESCRIPTOR COUNT. */
  maxCscdDescriptors: 8,
  /** MAXIMUM SEGMENT DESCRIPTOR COUNT. */
  maxSegmentDescriptors: 64,
  /** MAXIMUM DESCRIPTOR LIST LENGTH: room for the maximum of both kinds (8 × 32 + 64 × 28 bytes). */
  maxDescriptorListLength: 2048,
  /**
   * MAXIMUM SEGMENT LENGTH in bytes: the largest block → block segment (65535 blocks of 4096 bytes), so no
   * segment of a supported type is ever refused for its length; it is copied in 1 MiB chunks anyway.
   */
  maxSegmentBytes: 0xffff * 4096,
  /** No inline or embedded data, no held data, no stream devices. */
  maxInlineDataLength: 0,
  heldDataLimit: 0,
  maxStreamTransferSize: 0,
  /** EXTENDED COPY commands one LU's copy manager runs at a time (identified or not); more get BUSY. */
  totalConcurrentCopies: 32,
  /** Bytes read and written at a time; the destination's LBA range lock is held for one chunk. */
  chunkBytes: 1024 * 1024,
  /** Completed copies remembered per I_T nexus (LIST ID USAGE 00b) for COPY STATUS. */
  statusHistoryPerNexus: 16,
  /** I_T nexuses with remembered copies per LU; the least recently used one is forgotten first. */
  statusHistoryNexuses: 256,
} as const;

/** Descriptor type codes we implement, segment descriptors first (IMPLEMENTED DESCRIPTOR TYPE CODES). */
export const IMPLEMENTED_DESCRIPTOR_TYPES: readonly number[] = [SEGMENT_BLOCK_TO_BLOCK, CSCD_IDENTIFICATION];

/** COPY MANAGER STATUS (SPC-4 6.18.3). */
export const enum CopyManagerStatus {
  InProgress = 0x00,
  Completed = 0x01,
  CompletedWithErrors = 0x02,
}

export interface CopyStatusRecord {
  /** Null for LIST ID USAGE 11b: counted while it runs, never reported. */
  readonly listId: number | null;
  /** False for LIST ID USAGE 10b/11b: tracked only while it runs (unique list id), never reported after. */
  readonly hold: boolean;
  status: CopyManagerStatus;
  segmentsProcessed: number;
  bytesCopied: number;
}

/** Copies of one LU's copy manager, by I_T nexus and list id. */
export class CopyManagerState {
  /** Insertion order = least recently used nexus first. */
  private readonly byNexus = new Map<string, Map<number, CopyStatusRecord>>();
  running = 0;

  /** The copy with this list id for this nexus, running or remembered. */
  find(nexusId: string, listId: number): CopyStatusRecord | undefined {
    return this.byNexus.get(nexusId)?.get(listId);
  }

  /** Starts tracking a copy; replaces a completed one with the same list id. */
  begin(nexusId: string, listId: number | null, hold: boolean): CopyStatusRecord {
    this.running++;
    const record: CopyStatusRecord = { listId, hold, status: CopyManagerStatus.InProgress, segmentsProcessed: 0, bytesCopied: 0 };
    if (listId === null) return record;
    let copies = this.byNexus.get(nexusId);
    if (copies) {
      this.byNexus.delete(nexusId); // re-inserted as the most recently used
    } else {
      copies = new Map();
      if (this.byNexus.size >= COPY_LIMITS.statusHistoryNexuses) this.forgetOldestNexus();
    }
    this.byNexus.set(nexusId, copies);
    copies.delete(listId);
    copies.set(listId, record);
    this.trim(copies);
    return record;
  }

  /** A copy ended: kept for COPY STATUS when its list id was to be held, else forgotten. */
  end(nexusId: string, record: CopyStatusRecord, status: CopyManagerStatus): void {
    record.status = status;
    this.running--;
    if (record.hold || record.listId === null) return;
    const copies = this.byNexus.get(nexusId);
    if (copies?.get(record.listId) === record) copies.delete(record.listId);
    if (copies?.size === 0) this.byNexus.delete(nexusId);
  }

  /** Drops the oldest completed copies beyond the per-nexus limit (running ones are never dropped). */
  private trim(copies: Map<number, CopyStatusRecord>): void {
    if (copies.size <= COPY_LIMITS.statusHistoryPerNexus) return;
    for (const [listId, record] of copies) {
      if (copies.size <= COPY_LIMITS.statusHistoryPerNexus) break;
      if (record.status !== CopyManagerStatus.InProgress) copies.delete(listId);
    }
  }

  private forgetOldestNexus(): void {
    for (const [nexusId, copies] of this.byNexus) {
      if ([...copies.values()].every((r) => r.status !== CopyManagerStatus.InProgress)) {
        this.byNexus.delete(nexusId);
        return;
      }
    }
  }
}

const copyManagers = new WeakMap<LogicalUnit, CopyManagerState>();

/** The copy manager state of a LU, created on first use. */
export function copyManagerOf(lu: LogicalUnit): CopyManagerState {
  let state = copyManagers.get(lu);
  if (!state) copyManagers.set(lu, (state = new CopyManagerState()));
  return state;
}

// ---- VPD 8Fh third-party copy (SPC-4 7.8.17) ----

/** THIRD-PARTY COPY DESCRIPTOR TYPE codes. */
const enum TpcDescriptor {
  SupportedCommands = 0x0001,
  ParameterData = 0x0004,
  SupportedDescriptors = 0x0008,
  GeneralCopyOperations = 0x8001,
}

/** The third-party copy commands and their service actions (EXTENDED COPY LID1; COPY STATUS, OPERATING PARAMETERS). */
const SUPPORTED_COPY_COMMANDS: ReadonlyArray<readonly [number, readonly number[]]> = [
  [Opcode.ExtendedCopy, [0x00]],
  [Opcode.ReceiveCopyResults, [0x00, 0x03]],
];

/** Body of VPD page 8Fh: supported commands, parameter data, supported descriptors, general copy operations. */
export function thirdPartyCopyVpd(): Buffer {
  const commands = SUPPORTED_COPY_COMMANDS.flatMap(([opcode, actions]) => [opcode, actions.length, ...actions]);
  const parameterData = Buffer.alloc(28);
  parameterData.writeUInt16BE(COPY_LIMITS.maxCscdDescriptors, 4);
  parameterData.writeUInt16BE(COPY_LIMITS.maxSegmentDescriptors, 6);
  parameterData.writeUInt32BE(COPY_LIMITS.maxDescriptorListLength, 8);
  parameterData.writeUInt32BE(COPY_LIMITS.maxInlineDataLength, 12);
  const general = Buffer.alloc(32);
  general.writeUInt32BE(COPY_LIMITS.totalConcurrentCopies, 0); // TOTAL CONCURRENT COPIES
  general.writeUInt32BE(COPY_LIMITS.totalConcurrentCopies, 4); // MAXIMUM IDENTIFIED CONCURRENT COPIES
  general.writeUInt32BE(COPY_LIMITS.maxSegmentBytes, 8); // MAXIMUM SEGMENT LENGTH
  general[12] = 0; // DATA SEGMENT GRANULARITY (log2): bytes
  general[13] = 0; // INLINE DATA GRANULARITY (log2)
  return Buffer.concat([
    tpcDescriptor(TpcDescriptor.SupportedCommands, Buffer.from([commands.length, ...commands])),
    tpcDescriptor(TpcDescriptor.ParameterData, parameterData),
    tpcDescriptor(TpcDescriptor.SupportedDescriptors, Buffer.from([IMPLEMENTED_DESCRIPTOR_TYPES.length, ...IMPLEMENTED_DESCRIPTOR_TYPES])),
    tpcDescriptor(TpcDescriptor.GeneralCopyOperations, general),
  ]);
}

/** A third-party copy descriptor: type, length, parameters padded so the descriptor is a multiple of 4 bytes. */
function tpcDescriptor(type: TpcDescriptor, parameters: Buffer): Buffer {
  const length = (parameters.length + 3) & ~3;
  const d = Buffer.alloc(4 + length);
  d.writeUInt16BE(type, 0);
  d.writeUInt16BE(length, 2);
  parameters.copy(d, 4);
  return d;
}

// ---- RECEIVE COPY RESULTS, OPERATING PARAMETERS (SPC-4 6.18.4) ----

/** SNLID: LIST ID USAGE 11b (no list identifier) is supported. */
const SNLID = 0x01;

export function operatingParameters(): Buffer {
  const types = IMPLEMENTED_DESCRIPTOR_TYPES;
  const data = Buffer.alloc(44 + types.length);
  data.writeUInt32BE(data.length - 4, 0); // AVAILABLE DATA
  data[4] = SNLID;
  data.writeUInt16BE(COPY_LIMITS.maxCscdDescriptors, 8);
  data.writeUInt16BE(COPY_LIMITS.maxSegmentDescriptors, 10);
  data.writeUInt32BE(COPY_LIMITS.maxDescriptorListLength, 12);
  data.writeUInt32BE(COPY_LIMITS.maxSegmentBytes, 16);
  data.writeUInt32BE(COPY_LIMITS.maxInlineDataLength, 20);
  data.writeUInt32BE(COPY_LIMITS.heldDataLimit, 24);
  data.writeUInt32BE(COPY_LIMITS.maxStreamTransferSize, 28);
  data.writeUInt16BE(COPY_LIMITS.totalConcurrentCopies, 34);
  data[36] = COPY_LIMITS.totalConcurrentCopies; // MAXIMUM CONCURRENT COPIES
  data[37] = 0; // DATA SEGMENT GRANULARITY (log2)
  data[38] = 0; // INLINE DATA GRANULARITY (log2)
  data[39] = 0; // HELD DATA GRANULARITY (log2)
  data[43] = types.length;
  Buffer.from(types).copy(data, 44);
  return data;
}
