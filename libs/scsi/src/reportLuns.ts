/** REPORT LUNS (SPC-4 6.33): answered by the target for any LUN, without unit attentions. */
import { returnData } from './dataIn';
import { ScsiTask } from './task';

/** SELECT REPORT values: 00h all LUs but well-known, 01h well-known only (none), 02h all. */
const SELECT_ALL_BUT_WELL_KNOWN = 0x00;
const SELECT_WELL_KNOWN = 0x01;
const SELECT_ALL = 0x02;

/** Returns false when SELECT REPORT is not one this target supports (the caller fails the task). */
export function reportLuns(luns: readonly number[], task: ScsiTask): boolean {
  const cdb = task.cdb;
  const select = cdb[2];
  if (select !== SELECT_ALL_BUT_WELL_KNOWN && select !== SELECT_WELL_KNOWN && select !== SELECT_ALL) return false;
  const listed = select === SELECT_WELL_KNOWN ? [] : luns;
  const data = Buffer.alloc(8 + listed.length * 8);
  data.writeUInt32BE(listed.length * 8, 0);
  listed.forEach((lun, i) => encodeLun(lun, data, 8 + i * 8));
  returnData(task, data, cdb.readUInt32BE(6));
  return true;
}

/** SAM-5 4.7: peripheral device addressing below 256, flat space addressing up to 16383. */
export function encodeLun(lun: number, buf: Buffer, offset: number): void {
  if (lun < 256) {
    buf[offset] = 0x00;
    buf[offset + 1] = lun;
  } else {
    buf[offset] = 0x40 | ((lun >> 8) & 0x3f);
    buf[offset + 1] = lun & 0xff;
  }
}
