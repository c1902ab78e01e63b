/**
 * Sense data (SPC-4 4.5): fixed format (70h, 18 bytes) by default, descriptor format (72h) when the
 * initiator asked for it (D_SENSE in the control mode page, or DESC in REQUEST SENSE).
 */
import { ScsiStatus, ScsiTask } from './task';

export const enum SenseKey {
  NoSense = 0x0,
  RecoveredError = 0x1,
  NotReady = 0x2,
  MediumError = 0x3,
  HardwareError = 0x4,
  IllegalRequest = 0x5,
  UnitAttention = 0x6,
  DataProtect = 0x7,
  CopyAborted = 0xa,
  AbortedCommand = 0xb,
  Miscompare = 0xe,
}

/** Additional sense code and qualifier packed as (ASC << 8) | ASCQ. */
export const enum Asc {
  NoAdditionalSense = 0x0000,
  OperationInProgress = 0x0016,
  LuNotReadyCauseNotReportable = 0x0400,
  LuNotAccessibleAsymmetricAccessStateTransition = 0x040a,
  LuNotAccessibleTargetPortInStandbyState = 0x040b,
  LuNotAccessibleTargetPortInUnavailableState = 0x040c,
  ThirdPartyDeviceFailure = 0x0d01,
  CopyTargetDeviceNotReachable = 0x0d02,
  WriteError = 0x0c00,
  UnrecoveredReadError = 0x1100,
  ParameterListLengthError = 0x1a00,
  MiscompareDuringVerify = 0x1d00,
  InvalidCommandOperationCode = 0x2000,
  LbaOutOfRange = 0x2100,
  InvalidFieldInCdb = 0x2400,
  LogicalUnitNotSupported = 0x2500,
  InvalidFieldInParameterList = 0x2600,
  InvalidReleaseOfPersistentReservation = 0x2604,
  TooManyTargetDescriptors = 0x2606,
  UnsupportedTargetDescriptorTypeCode = 0x2607,
  TooManySegmentDescriptors = 0x2608,
  UnsupportedSegmentDescriptorTypeCode = 0x2609,
  UnexpectedInexactSegment = 0x260a,
  InlineDataLengthExceeded = 0x260b,
  WriteProtected = 0x2700,
  InvalidFieldInInformationUnit = 0x0e03,
  PowerOnResetOrBusDeviceReset = 0x2900,
  PowerOnOccurred = 0x2901,
  BusDeviceResetFunctionOccurred = 0x2903,
  ItNexusLossOccurred = 0x2907,
  ModeParametersChanged = 0x2a01,
  ReservationsPreempted = 0x2a03,
  ReservationsReleased = 0x2a04,
  RegistrationsPreempted = 0x2a05,
  AsymmetricAccessStateChanged = 0x2a06,
  CapacityDataHasChanged = 0x2a09,
  SavingParametersNotSupported = 0x3900,
  ReportedLunsDataHasChanged = 0x3f0e,
  InternalTargetFailure = 0x4400,
  InsufficientResources = 0x5503,
  InsufficientRegistrationResources = 0x5504,
}

/** Where the offending field is, for the sense-key specific "field pointer" (SPC-4 4.5.2.4.2). */
export interface FieldPointer {
  /** True when the field is in the CDB, false when it is in the parameter list (Data-Out). */
  inCdb: boolean;
  byte: number;
  /** Bit (0-7) of the field's most significant bit, or undefined when the whole byte is meant. */
  bit?: number;
}

export const FIXED_SENSE_LENGTH = 18;

/**
 * Builds sense data. `information` (when given) fills the INFORMATION field and sets VALID;
 * `field` fills the sense-key specific bytes with SKSV set.
 */
export function buildSense(
  key: SenseKey,
  asc: Asc | number,
  descriptorFormat = false,
  information?: number,
  field?: FieldPointer,
): Buffer {
  if (descriptorFormat) return buildDescriptorSense(key, asc, information, field);
  const sense = Buffer.alloc(FIXED_SENSE_LENGTH);
  sense[0] = 0x70;
  sense[2] = key & 0x0f;
  if (information !== undefined) {
    sense[0] |= 0x80;
    sense.writeUInt32BE(information >>> 0, 3);
  }
  sense[7] = FIXED_SENSE_LENGTH - 8;
  sense[12] = (asc >> 8) & 0xff;
  sense[13] = asc & 0xff;
  if (field) writeFieldPointer(sense, 15, field);
  return sense;
}

function buildDescriptorSense(key: SenseKey, asc: number, information?: number, field?: FieldPointer): Buffer {
  const length = 8 + (information !== undefined ? 12 : 0) + (field ? 8 : 0);
  const sense = Buffer.alloc(length);
  sense[0] = 0x72;
  sense[1] = key & 0x0f;
  sense[2] = (asc >> 8) & 0xff;
  sense[3] = asc & 0xff;
  sense[7] = length - 8;
  let at = 8;
  if (information !== undefined) {
    sense[at] = 0x00; // information descriptor
    sense[at + 1] = 0x0a;
    sense[at + 2] = 0x80; // VALID
    sense.writeUInt32BE(Math.floor(information / 0x100000000), at + 4);
    sense.writeUInt32BE(information >>> 0, at + 8);
    at += 12;
  }
  if (field) {
    sense[at] = 0x02; // sense key specific descriptor
    sense[at + 1] = 0x06;
    writeFieldPointer(sense, at + 4, field);
  }
  return sense;
}

function writeFieldPointer(sense: Buffer, at: number, field: FieldPointer): void {
  let b = 0x80; // SKSV
  if (field.inCdb) b |= 0x40;
  if (field.bit !== undefined) b |= 0x08 | (field.bit & 0x07);
  sense[at] = b;
  sense.writeUInt16BE(field.byte & 0xffff, at + 1);
}

/** Ends a task with CHECK CONDITION and the given sense; no data goes back. */
export function checkCondition(task: ScsiTask, sense: Buffer): void {
  task.status = ScsiStatus.CheckCondition;
  task.sense = sense;
  task.dataInLength = 0;
}

/** Ends a task with RESERVATION CONFLICT: no sense, no data (SAM-5 5.3.1). */
export function reservationConflict(task: ScsiTask): void {
  task.status = ScsiStatus.ReservationConflict;
  task.sense = null;
  task.dataInLength = 0;
}

/** The sense key, ASC and ASCQ of sense data in either format, for logs and tests. */
export function decodeSense(sense: Buffer): { key: number; asc: number; ascq: number; descriptor: boolean } {
  const descriptor = (sense[0] & 0x7f) === 0x72 || (sense[0] & 0x7f) === 0x73;
  if (descriptor) return { key: sense[1] & 0x0f, asc: sense[2], ascq: sense[3], descriptor };
  return { key: sense[2] & 0x0f, asc: sense[12], ascq: sense[13], descriptor };
}
