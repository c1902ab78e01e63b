/**
 * PERSISTENT RESERVE IN (SPC-4 6.16): READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS.
 * The ADDITIONAL LENGTH fields always describe the whole answer; the allocation length only cuts what is sent.
 */
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { encodeTransportId } from './persistentReserveOut';
import { reservationConflict } from './sense';
import { ScsiTask } from './task';

export const enum PrInAction {
  ReadKeys = 0x00,
  ReadReservation = 0x01,
  ReportCapabilities = 0x02,
  ReadFullStatus = 0x03,
}

/** REPORT CAPABILITIES PERSISTENT RESERVATION TYPE MASK (SPC-4 6.16.4): every type is supported. */
export const PR_TYPE_MASK = 0xea01;

function allocationLength(task: ScsiTask): number {
  return task.cdb.readUInt16BE(7);
}

/** spc2r20 5.5.1: while a RESERVE(6)/(10) reservation exists, every PR IN and PR OUT conflicts. */
function legacyConflict(lu: LogicalUnit, task: ScsiTask): boolean {
  if (!lu.reservations.legacyReserved) return false;
  reservationConflict(task);
  return true;
}

export function readKeys(lu: LogicalUnit, task: ScsiTask): void {
  if (legacyConflict(lu, task)) return;
  const registrations = lu.reservations.registrationList();
  const data = Buffer.alloc(8 + registrations.length * 8);
  data.writeUInt32BE(lu.reservations.prGeneration, 0);
  data.writeUInt32BE(registrations.length * 8, 4);
  registrations.forEach((r, i) => data.write(r.key, 8 + i * 8, 'hex'));
  returnData(task, data, allocationLength(task));
}

export function readReservation(lu: LogicalUnit, task: ScsiTask): void {
  if (legacyConflict(lu, task)) return;
  const reservation = lu.reservations.currentReservation();
  const data = Buffer.alloc(reservation === null ? 8 : 24);
  data.writeUInt32BE(lu.reservations.prGeneration, 0);
  if (reservation !== null) {
    data.writeUInt32BE(16, 4);
    // All-registrants reservations report key 0 (SPC-4 6.16.3).
    if (reservation.holder !== null) data.write(reservation.holder.key, 8, 'hex');
    data[21] = reservation.type & 0x0f; // SCOPE 0h: LU_SCOPE
  }
  returnData(task, data, allocationLength(task));
}

export function reportCapabilities(lu: LogicalUnit, task: ScsiTask): void {
  if (legacyConflict(lu, task)) return;
  const data = Buffer.alloc(8);
  data.writeUInt16BE(8, 0);
  // CRH 0, SIP_C, ATP_C, PTPL_C when the state has a place on disk.
  data[2] = 0x08 | 0x04 | (lu.prStatePath !== null ? 0x01 : 0);
  // TMV, ALLOW_COMMANDS 001b (TEST UNIT READY passes WE and EA reservations), PTPL_A.
  data[3] = 0x80 | (0x1 << 4) | (lu.reservations.persistThroughPowerLoss ? 0x01 : 0);
  data.writeUInt16BE(PR_TYPE_MASK, 4);
  returnData(task, data, allocationLength(task));
}

export function readFullStatus(lu: LogicalUnit, task: ScsiTask): void {
  if (legacyConflict(lu, task)) return;
  const reservations = lu.reservations;
  const reservation = reservations.currentReservation();
  const descriptors = reservations.registrationList().map((r, index) => {
    const transportId = encodeTransportId({ name: r.initiator, isid: r.isid });
    const d = Buffer.alloc(24 + transportId.length);
    d.write(r.key, 0, 'hex');
    const holder = reservations.isHolderIndex(index);
    d[12] = (r.targetPort === null ? 0x02 : 0) | (holder ? 0x01 : 0);
    if (holder && reservation !== null) d[13] = reservation.type & 0x0f;
    d.writeUInt16BE(r.targetPort === null ? 0 : r.relativeTargetPortId, 18);
    d.writeUInt32BE(transportId.length, 20);
    transportId.copy(d, 24);
    return d;
  });
  const body = Buffer.concat(descriptors);
  const data = Buffer.alloc(8 + body.length);
  data.writeUInt32BE(reservations.prGeneration, 0);
  data.writeUInt32BE(body.length, 4);
  body.copy(data, 8);
  returnData(task, data, allocationLength(task));
}

