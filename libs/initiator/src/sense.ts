/** SCSI status codes, sense data decoding (fixed and descriptor formats) and the error a failed command throws. */

export const ScsiStatus = {
  Good: 0x00,
  CheckCondition: 0x02,
  ConditionMet: 0x04,
  Busy: 0x08,
  ReservationConflict: 0x18,
  TaskSetFull: 0x28,
  AcaActive: 0x30,
  TaskAborted: 0x40,
} as const;

export const SenseKey = {
  NoSense: 0x0,
  RecoveredError: 0x1,
  NotReady: 0x2,
  MediumError: 0x3,
  HardwareError: 0x4,
  IllegalRequest: 0x5,
  UnitAttention: 0x6,
  DataProtect: 0x7,
  BlankCheck: 0x8,
  CopyAborted: 0xa,
  AbortedCommand: 0xb,
  Miscompare: 0xe,
} as const;

const SENSE_KEY_NAMES = [
  'NO SENSE', 'RECOVERED ERROR', 'NOT READY', 'MEDIUM ERROR', 'HARDWARE ERROR', 'ILLEGAL REQUEST', 'UNIT ATTENTION',
  'DATA PROTECT', 'BLANK CHECK', 'VENDOR SPECIFIC', 'COPY ABORTED', 'ABORTED COMMAND', 'RESERVED', 'VOLUME OVERFLOW',
  'MISCOMPARE', 'COMPLETED',
];

const STATUS_NAMES: Record<number, string> = {
  0x00: 'GOOD', 0x02: 'CHECK CONDITION', 0x04: 'CONDITION MET', 0x08: 'BUSY', 0x18: 'RESERVATION CONFLICT',
  0x28: 'TASK SET FULL', 0x30: 'ACA ACTIVE', 0x40: 'TASK ABORTED',
};

/** The additional sense codes the multipath layer acts on, as (ASC << 8) | ASCQ. */
export const AscAscq = {
  PowerOnOrReset: 0x2900,
  ParametersChanged: 0x2a00,
  ModeParametersChanged: 0x2a01,
  CapacityDataChanged: 0x2a09,
  AsymmetricAccessStateChanged: 0x2a06,
  ImplicitAsymmetricAccessStateTransitionFailed: 0x2a07,
  AluaTransitioning: 0x040a,
  AluaStandby: 0x040b,
  AluaUnavailable: 0x040c,
  ReportedLunsDataChanged: 0x3f0e,
} as const;

export interface SenseData {
  key: number;
  asc: number;
  ascq: number;
  /** Descriptor format (0x72/0x73) rather than fixed (0x70/0x71). */
  descriptor: boolean;
  /** Deferred error (0x71/0x73) rather than current. */
  deferred: boolean;
  /** INFORMATION field, when valid. */
  information?: number;
  raw: Buffer;
}

/** Decodes fixed or descriptor sense data; null when there is none or it is too short to mean anything. */
export function decodeSense(raw: Buffer | null | undefined): SenseData | null {
  if (!raw || raw.length < 2) return null;
  const code = raw[0] & 0x7f;
  if (code === 0x72 || code === 0x73) {
    if (raw.length < 4) return null;
    const sense: SenseData = { key: raw[1] & 0x0f, asc: raw[2], ascq: raw[3], descriptor: true, deferred: code === 0x73, raw };
    const end = Math.min(raw.length, 8 + (raw.length > 7 ? raw[7] : 0));
    for (let at = 8; at + 2 <= end; at += 2 + raw[at + 1]) {
      if (raw[at] === 0x00 && raw[at + 1] >= 0x0a && at + 12 <= end && (raw[at + 2] & 0x80)) {
        sense.information = raw.readUInt32BE(at + 4) * 0x100000000 + raw.readUInt32BE(at + 8);
      }
    }
    return sense;
  }
  if (code === 0x70 || code === 0x71) {
    if (raw.length < 3) return null;
    const sense: SenseData = {
      key: raw[2] & 0x0f,
      asc: raw.length > 12 ? raw[12] : 0,
      ascq: raw.length > 13 ? raw[13] : 0,
      descriptor: false,
      deferred: code === 0x71,
      raw,
    };
    if (raw[0] & 0x80 && raw.length >= 7) sense.information = raw.readUInt32BE(3);
    return sense;
  }
  return null;
}

/** (ASC << 8) | ASCQ of the sense, or -1 without sense. */
export function ascAscq(sense: SenseData | null): number {
  return sense ? (sense.asc << 8) | sense.ascq : -1;
}

export function senseKeyName(key: number): string {
  return SENSE_KEY_NAMES[key & 0x0f];
}

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `status 0x${status.toString(16).padStart(2, '0')}`;
}

/** "NOT READY 04/0B" */
export function describeSense(sense: SenseData): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
  return `${senseKeyName(sense.key)} ${hex(sense.asc)}/${hex(sense.ascq)}`;
}

/** A SCSI command that ended with a status other than GOOD (thrown by the device helpers, not by execute). */
export class ScsiCommandError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly sense: SenseData | null,
  ) {
    super(`${operation}: ${statusName(status)}${sense ? ` (${describeSense(sense)})` : ''}`);
  }
}
