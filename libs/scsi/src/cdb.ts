/** CDB field decoding shared by the command handlers (SPC-4 4.2). */

/** Operation codes this layer knows by name. */
export const enum Opcode {
  TestUnitReady = 0x00,
  RequestSense = 0x03,
  Read6 = 0x08,
  Write6 = 0x0a,
  Inquiry = 0x12,
  ModeSelect6 = 0x15,
  Reserve6 = 0x16,
  Release6 = 0x17,
  ModeSense6 = 0x1a,
  StartStopUnit = 0x1b,
  PreventAllowMediumRemoval = 0x1e,
  ReadCapacity10 = 0x25,
  Read10 = 0x28,
  Write10 = 0x2a,
  WriteAndVerify10 = 0x2e,
  Verify10 = 0x2f,
  PreFetch10 = 0x34,
  SynchronizeCache10 = 0x35,
  WriteSame10 = 0x41,
  Unmap = 0x42,
  ModeSelect10 = 0x55,
  Reserve10 = 0x56,
  Release10 = 0x57,
  ModeSense10 = 0x5a,
  PersistentReserveIn = 0x5e,
  PersistentReserveOut = 0x5f,
  ExtendedCopy = 0x83,
  ReceiveCopyResults = 0x84,
  Read16 = 0x88,
  CompareAndWrite = 0x89,
  Write16 = 0x8a,
  WriteAndVerify16 = 0x8e,
  Verify16 = 0x8f,
  PreFetch16 = 0x90,
  SynchronizeCache16 = 0x91,
  WriteSame16 = 0x93,
  ServiceActionIn16 = 0x9e,
  ReportLuns = 0xa0,
  MaintenanceIn = 0xa3,
  Read12 = 0xa8,
  Write12 = 0xaa,
  WriteAndVerify12 = 0xae,
  Verify12 = 0xaf,
}

export const enum ServiceAction {
  ReadCapacity16 = 0x10,
  GetLbaStatus = 0x12,
  ReportSupportedOperationCodes = 0x0c,
  ReportTargetPortGroups = 0x0a,
}

const TWO_POW_32 = 0x100000000;

/**
 * A 64-bit big-endian LBA as a number. Values above 2^53 lose precision but stay above any real
 * capacity, so range checks remain correct without BigInt on the hot path.
 */
export function readUInt64(cdb: Buffer, offset: number): number {
  return cdb.readUInt32BE(offset) * TWO_POW_32 + cdb.readUInt32BE(offset + 4);
}

/** The 21-bit LBA of READ(6)/WRITE(6). */
export function readLba6(cdb: Buffer): number {
  return ((cdb[1] & 0x1f) << 16) | (cdb[2] << 8) | cdb[3];
}

/** CDB length implied by the opcode's group code; 0 for groups with no fixed length. */
export function cdbLengthOf(opcode: number): number {
  switch (opcode >> 5) {
    case 0:
      return 6;
    case 1:
    case 2:
      return 10;
    case 4:
      return 16;
    case 5:
      return 12;
    default:
      return 0;
  }
}

/** Writes a 64-bit unsigned value (< 2^53) big-endian. */
export function writeUInt64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}
