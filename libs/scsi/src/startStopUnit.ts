/**
 * START STOP UNIT (SBC-3 5.25) and PREVENT ALLOW MEDIUM REMOVAL (SBC-3 5.5) for a non-removable,
 * always-spinning virtual disk. A STOP is not kept as a state (one initiator must not stop the LU
 * for every other path of a shared HA disk); it flushes the cache unless NO_FLUSH is set.
 */
import { LogicalUnit } from './logicalUnit';
import { flush } from './synchronizeCache';
import { ScsiTask } from './task';

/** POWER CONDITION values SBC-3 defines: START_VALID, ACTIVE, IDLE, STANDBY, LU_CONTROL, FORCE_IDLE_0, FORCE_STANDBY_0. */
const VALID_POWER_CONDITIONS = new Set([0x0, 0x1, 0x2, 0x3, 0x7, 0xa, 0xb]);

export function startStopUnit(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  const cdb = task.cdb;
  const powerCondition = cdb[4] >> 4;
  if (!VALID_POWER_CONDITIONS.has(powerCondition)) return lu.invalidFieldInCdb(task, 4, 7);
  const noFlush = (cdb[4] & 0x04) !== 0;
  const loadEject = (cdb[4] & 0x02) !== 0;
  const start = (cdb[4] & 0x01) !== 0;
  if (powerCondition !== 0) return; // power conditions change nothing for a virtual disk
  if (loadEject && !start) return lu.invalidFieldInCdb(task, 4, 1); // no medium to eject
  if (!start && !noFlush) return flush(lu, task);
}

export function preventAllowMediumRemoval(lu: LogicalUnit, task: ScsiTask): void {
  // PREVENT 00b allow, 01b prevent (nothing to lock for a non-removable medium); 1xb are obsolete.
  if (task.cdb[4] & 0x02) return lu.invalidFieldInCdb(task, 4, 1);
}
