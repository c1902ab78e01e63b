/**
 * REQUEST SENSE (SPC-4 6.39). Sense is returned with each CHECK CONDITION (autosense), so there is no
 * saved sense to report: only a pending unit attention (which REQUEST SENSE reports and clears) or
 * NO SENSE; for a LUN without a LU, LOGICAL UNIT NOT SUPPORTED, with GOOD status in every case.
 */
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { Asc, SenseKey, buildSense } from './sense';
import { ScsiTask } from './task';

export function requestSense(lu: LogicalUnit | null, task: ScsiTask): void {
  const cdb = task.cdb;
  const descriptorFormat = (cdb[1] & 0x01) !== 0;
  const allocationLength = cdb[4];
  let data: Buffer;
  if (lu === null) {
    data = buildSense(SenseKey.IllegalRequest, Asc.LogicalUnitNotSupported, descriptorFormat);
  } else {
    const pending = task.nexus ? lu.unitAttentions.take(task.nexus.id) : -1;
    data =
      pending >= 0
        ? buildSense(SenseKey.UnitAttention, pending, descriptorFormat)
        : buildSense(SenseKey.NoSense, Asc.NoAdditionalSense, descriptorFormat);
  }
  returnData(task, data, allocationLength);
}
