/**
 * RECEIVE COPY RESULTS (SPC-4 6.18, LID1 service actions): COPY STATUS of a copy this I_T nexus started with
 * LIST ID USAGE 00b, and the copy manager's OPERATING PARAMETERS. RECEIVE DATA and FAILED SEGMENT DETAILS have
 * nothing to report here (no held data, failures are in the sense data) and are not offered.
 */
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { ScsiTask } from './task';
import { copyManagerOf, operatingParameters } from './thirdPartyCopy';

const COPY_STATUS_LENGTH = 12;
/** TRANSFER COUNT UNITS: bytes, then mebibytes once the count would not fit 32 bits. */
const UNITS_BYTES = 0x00;
const UNITS_MEBIBYTES = 0x02;

export function copyStatus(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  const listId = cdb[2];
  const allocationLength = cdb.readUInt32BE(10);
  const record = copyManagerOf(lu).find(task.nexus?.id ?? '', listId);
  // No copy with this list id (or one whose status is not held): the LIST IDENTIFIER is invalid.
  if (record === undefined || !record.hold) return lu.invalidFieldInCdb(task, 2);
  const data = Buffer.alloc(COPY_STATUS_LENGTH);
  data.writeUInt32BE(COPY_STATUS_LENGTH - 4, 0); // AVAILABLE DATA
  data[4] = record.status; // HDD 0: no held data was discarded
  data.writeUInt16BE(Math.min(record.segmentsProcessed, 0xffff), 5);
  const bytes = record.bytesCopied;
  if (bytes <= 0xffffffff) {
    data[7] = UNITS_BYTES;
    data.writeUInt32BE(bytes, 8);
  } else {
    data[7] = UNITS_MEBIBYTES;
    data.writeUInt32BE(Math.floor(bytes / 2 ** 20), 8);
  }
  returnData(task, data, allocationLength);
}

export function copyOperatingParameters(lu: LogicalUnit, task: ScsiTask): void {
  returnData(task, operatingParameters(), task.cdb.readUInt32BE(10));
}
