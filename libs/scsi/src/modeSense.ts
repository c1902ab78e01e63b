/** MODE SENSE (6/10) (SPC-4 6.11, 6.12) with SBC-3 block descriptors. */
import { writeUInt64 } from './cdb';
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { MODE_PAGES, ModePageCode, PageControl, findModePage } from './modePages';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';

/** Device-specific parameter of the mode parameter header (SBC-3 6.4.1): WP clear, DPOFUA set. */
const DEVICE_SPECIFIC_DPOFUA = 0x10;
/** WP: the medium is write-protected (a read-only LU). */
const WP = 0x80;

export function modeSense6(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  modeSense(lu, task, false, (cdb[1] & 0x08) !== 0, false, cdb[4]);
}

export function modeSense10(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  modeSense(lu, task, true, (cdb[1] & 0x08) !== 0, (cdb[1] & 0x10) !== 0, cdb.readUInt16BE(7));
}

function modeSense(lu: LogicalUnit, task: ScsiTask, ten: boolean, dbd: boolean, llbaa: boolean, allocationLength: number): void {
  const cdb = task.cdb;
  const pc = (cdb[2] >> 6) as PageControl;
  const pageCode = cdb[2] & 0x3f;
  const subpage = cdb[3];
  if (pc === PageControl.Saved) {
    return lu.fail(task, SenseKey.IllegalRequest, Asc.SavingParametersNotSupported, undefined, { inCdb: true, byte: 2, bit: 7 });
  }
  const pages: Buffer[] = [];
  if (pageCode === ModePageCode.AllPages) {
    // Subpage FFh asks for every subpage too; there are none besides subpage 0.
    if (subpage !== 0x00 && subpage !== 0xff) return lu.invalidFieldInCdb(task, 3);
    for (const def of MODE_PAGES) pages.push(lu.modePages.page(def.code, pc));
  } else {
    if (!findModePage(pageCode)) return lu.invalidFieldInCdb(task, 2, 5);
    if (subpage !== 0x00) return lu.invalidFieldInCdb(task, 3);
    pages.push(lu.modePages.page(pageCode, pc));
  }

  const blockDescriptor = dbd ? null : buildBlockDescriptor(lu, ten && llbaa, pc === PageControl.Changeable);
  const headerLength = ten ? 8 : 4;
  const descriptorLength = blockDescriptor?.length ?? 0;
  let total = headerLength + descriptorLength;
  for (const p of pages) total += p.length;
  const data = Buffer.alloc(total);
  if (ten) {
    data.writeUInt16BE(total - 2, 0);
    data[2] = 0; // medium type
    data[3] = DEVICE_SPECIFIC_DPOFUA | (lu.readOnly ? WP : 0);
    data[4] = descriptorLength === 16 ? 0x01 : 0x00; // LONGLBA
    data.writeUInt16BE(descriptorLength, 6);
  } else {
    data[0] = total - 1;
    data[1] = 0;
    data[2] = DEVICE_SPECIFIC_DPOFUA | (lu.readOnly ? WP : 0);
    data[3] = descriptorLength;
  }
  let at = headerLength;
  if (blockDescriptor) at += blockDescriptor.copy(data, at);
  for (const p of pages) at += p.copy(data, at);
  returnData(task, data, allocationLength);
}

/** Short (8-byte) or long LBA (16-byte) block descriptor; nothing in it is changeable. */
function buildBlockDescriptor(lu: LogicalUnit, long: boolean, changeable: boolean): Buffer {
  if (long) {
    const d = Buffer.alloc(16);
    if (!changeable) {
      writeUInt64(d, lu.blockCount, 0);
      d.writeUInt32BE(lu.blockSize, 12);
    }
    return d;
  }
  const d = Buffer.alloc(8);
  if (!changeable) {
    // More blocks than fit in 32 bits: FFFFFFFFh says "use the long LBA descriptor".
    d.writeUInt32BE(lu.blockCount > 0xffffffff ? 0xffffffff : lu.blockCount, 0);
    d.writeUIntBE(lu.blockSize, 5, 3);
  }
  return d;
}
