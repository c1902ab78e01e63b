/**
 * RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2 7.21/7.22, 7.16/7.17): the legacy whole-LU reservation of
 * one I_T nexus. It conflicts with persistent reservations both ways (SPC-4 5.13.3) and ends with
 * RELEASE from its holder, I_T nexus loss, LOGICAL UNIT RESET and target reset. Third-party and extent
 * reservations are obsolete and refused.
 */
import { LogicalUnit } from './logicalUnit';
import { PrOutcome } from './persistentReservations';
import { applyReservationOperation } from './persistentReserveOut';
import { reservationConflict } from './sense';
import { ScsiTask } from './task';

export function reserve6(lu: LogicalUnit, task: ScsiTask): void {
  // Byte 1: obsolete 3RDPTY (bit 4), third party id (bits 3:1) and EXTENT (bit 0).
  if (task.cdb[1] & 0x1f) return lu.invalidFieldInCdb(task, 1, 4);
  reserve(lu, task);
}

export function reserve10(lu: LogicalUnit, task: ScsiTask): void {
  if (task.cdb[1] & 0x10) return lu.invalidFieldInCdb(task, 1, 4); // 3RDPTY
  if (task.cdb[1] & 0x02) return lu.invalidFieldInCdb(task, 1, 1); // LONGID
  reserve(lu, task);
}

export function release6(lu: LogicalUnit, task: ScsiTask): void {
  if (task.cdb[1] & 0x1f) return lu.invalidFieldInCdb(task, 1, 4);
  release(lu, task);
}

export function release10(lu: LogicalUnit, task: ScsiTask): void {
  if (task.cdb[1] & 0x10) return lu.invalidFieldInCdb(task, 1, 4);
  if (task.cdb[1] & 0x02) return lu.invalidFieldInCdb(task, 1, 1);
  release(lu, task);
}

function reserve(lu: LogicalUnit, task: ScsiTask): void {
  const result = applyReservationOperation(lu, { kind: 'reserve6' }, task.nexus);
  if (result.outcome !== PrOutcome.Good) reservationConflict(task);
}

function release(lu: LogicalUnit, task: ScsiTask): void {
  const result = applyReservationOperation(lu, { kind: 'release6' }, task.nexus);
  if (result.outcome !== PrOutcome.Good) reservationConflict(task);
}
