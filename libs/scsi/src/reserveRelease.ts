/**
 * RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2 7.21/7.22, 7.16/7.17): the legacy whole-LU reservation of
 * one I_T nexus. It conflicts with persistent reservations both ways (SPC-4 5.13.3) and ends with
 * RELEASE from its holder, I_T nexus loss, LOGICAL UNIT RESET and target reset. Third-party and extent
 * reservations are obsolete and refused.
 */
import { LogicalUnit, PR_LOCK_LBA } from './logicalUnit';
import { PrOutcome } from './persistentReservations';
import { applyReservationOperation } from './persistentReserveOut';
import { failStoreError } from './readWrite';
import { Asc, reservationConflict } from './sense';
import { ScsiTask } from './task';

export function reserve6(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  // Byte 1: obsolete 3RDPTY (bit 4), third party id (bits 3:1) and EXTENT (bit 0).
  if (task.cdb[1] & 0x1f) return lu.invalidFieldInCdb(task, 1, 4);
  return reserve(lu, task);
}

export function reserve10(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  if (task.cdb[1] & 0x10) return lu.invalidFieldInCdb(task, 1, 4); // 3RDPTY
  if (task.cdb[1] & 0x02) return lu.invalidFieldInCdb(task, 1, 1); // LONGID
  return reserve(lu, task);
}

export function release6(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  if (task.cdb[1] & 0x1f) return lu.invalidFieldInCdb(task, 1, 4);
  return release(lu, task);
}

export function release10(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  if (task.cdb[1] & 0x10) return lu.invalidFieldInCdb(task, 1, 4);
  if (task.cdb[1] & 0x02) return lu.invalidFieldInCdb(task, 1, 1);
  return release(lu, task);
}

function reserve(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  return legacy(lu, task, 'reserve6');
}

function release(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  return legacy(lu, task, 'release6');
}

/** One node: applied at once. A HA replica: under the cluster-wide PR lock, and on the partner before GOOD. */
function legacy(lu: LogicalUnit, task: ScsiTask, kind: 'reserve6' | 'release6'): void | Promise<void> {
  const replicator = lu.prReplicator;
  if (replicator === null) {
    const result = applyReservationOperation(lu, { kind }, task.nexus);
    if (result.outcome !== PrOutcome.Good) reservationConflict(task);
    return;
  }
  return (async () => {
    const slot = await lu.lbaLock.acquire(PR_LOCK_LBA, 1);
    try {
      const before = lu.reservations.snapshot();
      const result = applyReservationOperation(lu, { kind }, task.nexus);
      if (result.outcome !== PrOutcome.Good) return reservationConflict(task);
      if (!result.changed) return;
      const { initiatorPortName, targetPortName, relativeTargetPortId } = task.nexus;
      try {
        await replicator.replicate({ kind }, { initiatorPortName, targetPortName, relativeTargetPortId });
      } catch (err) {
        lu.reservations.restore(before);
        failStoreError(lu, task, err, Asc.InternalTargetFailure);
      }
    } finally {
      lu.lbaLock.release(slot);
    }
  })();
}
