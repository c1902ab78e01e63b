/**
 * EXTENDED COPY (LID1) (SPC-4 6.4): block → block copies between LUs of this node. CSCD descriptors name LUs by
 * a VPD 83h LU designator (identification descriptor E4h), looked up in the node's LuRegistry; segment
 * descriptors (type 02h) copy ranges. The whole parameter list and every segment are checked before a block
 * moves; data then goes in 1 MiB chunks read from the source store and written to the destination under its
 * LBA range lock, as a WRITE would, so each chunk is atomic against other writers and nothing allocates the
 * whole range.
 */
import { dataBuffers, StoreError } from '@tandem/storage';
import { readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { LuRegistry, luDesignators } from './luRegistry';
import { AccessClass } from './persistentReservations';
import { Asc, FieldPointer, SenseKey, buildSense, checkCondition, reservationConflict } from './sense';
import { ScsiStatus, ScsiTask } from './task';
import {
  COPY_LIMITS,
  CSCD_IDENTIFICATION,
  CopyManagerStatus,
  CopyStatusRecord,
  SEGMENT_BLOCK_TO_BLOCK,
  copyManagerOf,
} from './thirdPartyCopy';

export const PARAMETER_HEADER_LENGTH = 16;
export const CSCD_DESCRIPTOR_LENGTH = 32;
/** Block → block segment descriptor: 28 bytes, DESCRIPTOR LENGTH field 0018h. */
export const BLOCK_TO_BLOCK_LENGTH = 28;

/** LIST ID USAGE (parameter list header byte 1, bits 4:3). */
export const enum ListIdUsage {
  /** Keep the status for RECEIVE COPY RESULTS; the list id must be unique among this nexus's copies. */
  Hold = 0,
  Reserved = 1,
  /** Unique list id, nothing held. */
  Discard = 2,
  /** The LIST IDENTIFIER field is not used (SNLID = 1). */
  NoListId = 3,
}

/** A copy source or destination: the LU an identification descriptor names, null when it is not on this node. */
export interface CopyTarget {
  /** Offset of the descriptor in the parameter list. */
  readonly offset: number;
  readonly lu: LogicalUnit | null;
  /** DISK BLOCK LENGTH from the descriptor. */
  readonly blockLength: number;
}

export interface BlockSegment {
  /** Offset of the descriptor in the parameter list. */
  readonly offset: number;
  readonly sourceIndex: number;
  readonly destinationIndex: number;
  /** DC: NUMBER OF BLOCKS counts destination blocks (else source blocks). */
  readonly destinationCount: boolean;
  readonly blocks: number;
  readonly sourceLba: number;
  readonly destinationLba: number;
}

export interface ExtendedCopyParameters {
  readonly listId: number;
  readonly listIdUsage: ListIdUsage;
  readonly targets: readonly CopyTarget[];
  readonly segments: readonly BlockSegment[];
}

/** Why a parameter list is refused: ILLEGAL REQUEST with this code, pointing into the parameter list. */
export interface ParameterError {
  readonly asc: Asc;
  readonly byte?: number;
  readonly bit?: number;
}

export type LuResolver = (designatorType: number, designator: Buffer) => LogicalUnit | null;

/**
 * Decodes and checks a LID1 parameter list of `length` bytes (at least the 16-byte header), in the order
 * initiators test them: lengths, descriptor counts, descriptor types, descriptor fields.
 */
export function parseExtendedCopyParameters(data: Buffer, length: number, resolve: LuResolver): ExtendedCopyParameters | ParameterError {
  if (length < PARAMETER_HEADER_LENGTH) return { asc: Asc.ParameterListLengthError };
  const listId = data[0];
  const listIdUsage = ((data[1] >> 3) & 0x03) as ListIdUsage;
  if (listIdUsage === ListIdUsage.Reserved) return { asc: Asc.InvalidFieldInParameterList, byte: 1, bit: 4 };
  if (listIdUsage === ListIdUsage.NoListId && listId !== 0) return { asc: Asc.InvalidFieldInParameterList, byte: 0 };
  const cscdLength = data.readUInt16BE(2);
  const segmentLength = data.readUInt32BE(8);
  const inlineLength = data.readUInt32BE(12);
  // The lists must fit in what was sent; together they may not exceed MAXIMUM DESCRIPTOR LIST LENGTH.
  if (PARAMETER_HEADER_LENGTH + cscdLength + segmentLength + inlineLength > length) return { asc: Asc.ParameterListLengthError };
  if (cscdLength + segmentLength > COPY_LIMITS.maxDescriptorListLength) return { asc: Asc.ParameterListLengthError };
  if (inlineLength > COPY_LIMITS.maxInlineDataLength) return { asc: Asc.InlineDataLengthExceeded, byte: 12 };

  const targets: CopyTarget[] = [];
  const cscdEnd = PARAMETER_HEADER_LENGTH + cscdLength;
  for (let at = PARAMETER_HEADER_LENGTH; at < cscdEnd; at += CSCD_DESCRIPTOR_LENGTH) {
    if (targets.length === COPY_LIMITS.maxCscdDescriptors) return { asc: Asc.TooManyTargetDescriptors, byte: 2 };
    if (data[at] !== CSCD_IDENTIFICATION) return { asc: Asc.UnsupportedTargetDescriptorTypeCode, byte: at };
    if (at + CSCD_DESCRIPTOR_LENGTH > cscdEnd) return { asc: Asc.InvalidFieldInParameterList, byte: 2 };
    const target = parseIdentificationDescriptor(data, at, resolve);
    if ('asc' in target) return target;
    targets.push(target);
  }

  const segments: BlockSegment[] = [];
  const segmentsEnd = cscdEnd + segmentLength;
  for (let at = cscdEnd; at < segmentsEnd; ) {
    if (segments.length === COPY_LIMITS.maxSegmentDescriptors) return { asc: Asc.TooManySegmentDescriptors, byte: 8 };
    if (data[at] !== SEGMENT_BLOCK_TO_BLOCK) return { asc: Asc.UnsupportedSegmentDescriptorTypeCode, byte: at };
    if (at + 4 > segmentsEnd || data.readUInt16BE(at + 2) !== BLOCK_TO_BLOCK_LENGTH - 4) {
      return { asc: Asc.InvalidFieldInParameterList, byte: at + 2 };
    }
    if (at + BLOCK_TO_BLOCK_LENGTH > segmentsEnd) return { asc: Asc.InvalidFieldInParameterList, byte: 8 };
    segments.push({
      offset: at,
      destinationCount: (data[at + 1] & 0x02) !== 0,
      sourceIndex: data.readUInt16BE(at + 4),
      destinationIndex: data.readUInt16BE(at + 6),
      blocks: data.readUInt16BE(at + 10),
      sourceLba: readUInt64(data, at + 12),
      destinationLba: readUInt64(data, at + 20),
    });
    at += BLOCK_TO_BLOCK_LENGTH;
  }
  return { listId, listIdUsage, targets, segments };
}

/**
 * Identification descriptor (E4h): LU ID TYPE and NUL are ignored (SPC-4), the peripheral device type must be a
 * block device, the designator at most 16 bytes; the block device parameters carry DISK BLOCK LENGTH.
 */
function parseIdentificationDescriptor(data: Buffer, at: number, resolve: LuResolver): CopyTarget | ParameterError {
  if ((data[at + 1] & 0x1f) !== 0) return { asc: Asc.InvalidFieldInParameterList, byte: at + 1, bit: 4 };
  const association = (data[at + 5] >> 4) & 0x03;
  const designatorType = data[at + 5] & 0x0f;
  const designatorLength = data[at + 7];
  if (designatorLength > 16) return { asc: Asc.InvalidFieldInParameterList, byte: at + 7 };
  const designator = data.subarray(at + 8, at + 8 + designatorLength);
  const lu = association === 0 ? resolve(designatorType, designator) : null;
  const blockLength = data.readUIntBE(at + 29, 3);
  // The initiator's idea of the block size must be the LU's.
  if (lu !== null && blockLength !== lu.blockSize) return { asc: Asc.InvalidFieldInParameterList, byte: at + 29 };
  return { offset: at, lu, blockLength };
}

/** Finds a LU by LU designator: in the node's registry, or the copy manager's own LU when it is in none. */
export function resolverFor(lu: LogicalUnit): LuResolver {
  const registry = LuRegistry.of(lu);
  return (type, designator) => {
    const found = registry?.find(type, designator);
    if (found) return found;
    const own = luDesignators(lu.identity).some((d) => (d.type as number) === type && d.value.equals(designator));
    return own ? lu : null;
  };
}

// ---- the command ----

type Result = void | Promise<void>;

export function extendedCopy(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  const listLength = cdb.readUInt32BE(10);
  task.dataOutWanted = listLength;
  // A PARAMETER LIST LENGTH of 0 is not an error: nothing to copy.
  if (listLength === 0) return;
  const dataOut = task.dataOut;
  const have = dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length, listLength);
  if (have < listLength) return lu.fail(task, SenseKey.IllegalRequest, Asc.ParameterListLengthError);
  const parsed = parseExtendedCopyParameters(dataOut!, have, resolverFor(lu));
  if ('asc' in parsed) {
    const field: FieldPointer | undefined = parsed.byte !== undefined ? { inCdb: false, byte: parsed.byte, bit: parsed.bit } : undefined;
    return lu.fail(task, SenseKey.IllegalRequest, parsed.asc, undefined, field);
  }

  const manager = copyManagerOf(lu);
  const nexusId = task.nexus?.id ?? '';
  const identified = parsed.listIdUsage !== ListIdUsage.NoListId;
  if (identified && manager.find(nexusId, parsed.listId)?.status === CopyManagerStatus.InProgress) {
    return lu.fail(task, SenseKey.IllegalRequest, Asc.OperationInProgress);
  }
  if (manager.running >= COPY_LIMITS.totalConcurrentCopies) {
    task.status = ScsiStatus.Busy;
    return;
  }
  // A copy without a list id is counted while it runs but never reported.
  const record = manager.begin(nexusId, identified ? parsed.listId : null, parsed.listIdUsage === ListIdUsage.Hold);
  return copyAndRecord(lu, task, parsed, record, nexusId);
}

async function copyAndRecord(lu: LogicalUnit, task: ScsiTask, parameters: ExtendedCopyParameters, record: CopyStatusRecord, nexusId: string): Promise<void> {
  let ok = false;
  try {
    ok = await runCopy(lu, task, parameters, record);
  } finally {
    copyManagerOf(lu).end(nexusId, record, ok ? CopyManagerStatus.Completed : CopyManagerStatus.CompletedWithErrors);
  }
}

/** A checked segment, ready to copy. */
interface PlannedSegment {
  readonly source: LogicalUnit;
  readonly destination: LogicalUnit;
  readonly sourcePosition: number;
  readonly destinationPosition: number;
  readonly bytes: number;
}

/** Checks every segment, then copies them in order; false when the copy ended in CHECK CONDITION. */
async function runCopy(lu: LogicalUnit, task: ScsiTask, parameters: ExtendedCopyParameters, record: CopyStatusRecord): Promise<boolean> {
  const planned: PlannedSegment[] = [];
  for (let i = 0; i < parameters.segments.length; i++) {
    const plan = planSegment(lu, task, parameters, i);
    if (plan === null) return false;
    planned.push(plan);
  }
  const chunk = dataBuffers.take(COPY_LIMITS.chunkBytes);
  try {
    for (let i = 0; i < planned.length; i++) {
      if (task.aborted) return false;
      if (!(await copySegment(lu, task, planned[i], chunk, parameters.segments[i].offset, i, record))) return false;
      record.segmentsProcessed = i + 1;
    }
    return true;
  } finally {
    dataBuffers.give(chunk);
  }
}

/** Resolves one segment's LUs and checks its ranges; on a problem the task fails and null comes back. */
function planSegment(lu: LogicalUnit, task: ScsiTask, parameters: ExtendedCopyParameters, index: number): PlannedSegment | null {
  const segment = parameters.segments[index];
  const abort = (asc: Asc, byteInSegment: number): null => {
    copyAborted(lu, task, asc, index, byteInSegment);
    return null;
  };
  const sourceTarget = parameters.targets[segment.sourceIndex];
  const destinationTarget = parameters.targets[segment.destinationIndex];
  if (sourceTarget?.lu == null) return abort(Asc.CopyTargetDeviceNotReachable, 4);
  if (destinationTarget?.lu == null) return abort(Asc.CopyTargetDeviceNotReachable, 6);
  const source = sourceTarget.lu;
  const destination = destinationTarget.lu;
  const bytes = segment.blocks * (segment.destinationCount ? destination.blockSize : source.blockSize);
  if (bytes % source.blockSize !== 0 || bytes % destination.blockSize !== 0) return abort(Asc.UnexpectedInexactSegment, 10);
  const sourceBlocks = bytes / source.blockSize;
  const destinationBlocks = bytes / destination.blockSize;
  if (segment.sourceLba + sourceBlocks > source.blockCount) return abort(Asc.NoAdditionalSense, 12);
  if (segment.destinationLba + destinationBlocks > destination.blockCount) return abort(Asc.NoAdditionalSense, 20);
  // The copy manager's own LU was checked by the dispatcher; the others are accessed on the same nexus.
  const nexus = task.nexus;
  const conflicts = (other: LogicalUnit, access: AccessClass): boolean =>
    nexus !== undefined && other !== lu && other.reservations.active && other.reservations.conflicts(nexus, access);
  if (conflicts(source, AccessClass.Read) || conflicts(destination, AccessClass.Write)) {
    reservationConflict(task);
    return null;
  }
  return {
    source,
    destination,
    sourcePosition: segment.sourceLba * source.blockSize,
    destinationPosition: segment.destinationLba * destination.blockSize,
    bytes,
  };
}

/**
 * Copies one segment chunk by chunk. Overlapping ranges of one LU with the destination after the source are
 * copied from the end, so every block is read before it is overwritten.
 */
async function copySegment(
  lu: LogicalUnit,
  task: ScsiTask,
  plan: PlannedSegment,
  chunk: Buffer,
  segmentOffset: number,
  index: number,
  record: CopyStatusRecord,
): Promise<boolean> {
  const { source, destination, sourcePosition, destinationPosition, bytes } = plan;
  if (bytes === 0) return true;
  const blockSize = destination.blockSize;
  const chunkBytes = Math.min(bytes, COPY_LIMITS.chunkBytes);
  const backwards = source === destination && destinationPosition > sourcePosition && destinationPosition < sourcePosition + bytes;
  const fua = !destination.modePages.writeCacheEnabled;
  const chunks = Math.ceil(bytes / chunkBytes);
  for (let n = 0; n < chunks; n++) {
    if (task.aborted) return false;
    const k = backwards ? chunks - 1 - n : n;
    const at = k * chunkBytes;
    const length = Math.min(chunkBytes, bytes - at);
    const lba = (destinationPosition + at) / blockSize;
    const lock = destination.lbaLock;
    let slot = lock.tryAcquire(lba, length / blockSize);
    if (slot < 0) slot = await lock.acquire(lba, length / blockSize);
    try {
      await source.store.read(chunk, 0, length, sourcePosition + at);
      await destination.store.write(chunk, 0, length, destinationPosition + at, fua);
    } catch (err) {
      const asc = err instanceof StoreError && err.code === 'CLOSED' ? Asc.CopyTargetDeviceNotReachable : Asc.ThirdPartyDeviceFailure;
      copyAborted(lu, task, asc, index, segmentOffset);
      return false;
    } finally {
      lock.release(slot);
    }
    record.bytesCopied += length;
  }
  return true;
}

/**
 * COPY ABORTED (SPC-4 6.4.5): COMMAND-SPECIFIC INFORMATION = the number of the failed segment, sense-key specific
 * SEGMENT POINTER = the field at fault, relative to the segment descriptor (SD = 1) or the parameter list.
 */
function copyAborted(lu: LogicalUnit, task: ScsiTask, asc: Asc, segmentIndex: number, byte: number, inSegment = true): void {
  checkCondition(task, copyAbortedSense(asc, segmentIndex, byte, inSegment, lu.modePages.descriptorSense));
}

export function copyAbortedSense(asc: Asc, segmentIndex: number, byte: number, inSegment: boolean, descriptorFormat: boolean): Buffer {
  const sense = buildSense(SenseKey.CopyAborted, asc, descriptorFormat);
  const pointer = Buffer.alloc(3);
  pointer[0] = 0x80 | (inSegment ? 0x20 : 0); // SKSV, SD
  pointer.writeUInt16BE(byte & 0xffff, 1);
  if (!descriptorFormat) {
    sense.writeUInt32BE(segmentIndex, 8);
    pointer.copy(sense, 15);
    return sense;
  }
  // Descriptor format: command-specific information (01h) and sense key specific (02h) descriptors.
  const extra = Buffer.alloc(12 + 8);
  extra[0] = 0x01;
  extra[1] = 0x0a;
  extra.writeUInt32BE(segmentIndex, 8);
  extra[12] = 0x02;
  extra[13] = 0x06;
  pointer.copy(extra, 16);
  const out = Buffer.concat([sense, extra]);
  out[7] = out.length - 8;
  return out;
}
