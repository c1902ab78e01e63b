/** READ CAPACITY (10) and READ CAPACITY (16) (SBC-3 5.15, 5.16). */
import { ServiceAction, writeUInt64 } from './cdb';
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { ScsiTask } from './task';

export function readCapacity10(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  const pmi = (cdb[8] & 0x01) !== 0;
  // SBC-3: with PMI clear the LOGICAL BLOCK ADDRESS field must be zero.
  if (!pmi && cdb.readUInt32BE(2) !== 0) return lu.invalidFieldInCdb(task, 2);
  const data = Buffer.alloc(8);
  const lastLba = lu.blockCount - 1;
  // Capacities beyond 2^32 blocks report FFFFFFFFh so the initiator switches to READ CAPACITY (16).
  data.writeUInt32BE(lastLba > 0xffffffff ? 0xffffffff : lastLba, 0);
  data.writeUInt32BE(lu.blockSize, 4);
  task.dataIn = data;
  task.dataInLength = 8;
}

export function readCapacity16(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  if ((cdb[1] & 0x1f) !== ServiceAction.ReadCapacity16) return lu.invalidFieldInCdb(task, 1, 4);
  const allocationLength = cdb.readUInt32BE(10);
  const data = Buffer.alloc(32);
  writeUInt64(data, lu.blockCount - 1, 0);
  data.writeUInt32BE(lu.blockSize, 8);
  data[12] = 0x00; // no protection information
  data[13] = lu.blocksPerPhysicalBlockExponent & 0x0f; // P_I_EXPONENT 0, LBPPBE
  // LBPME and LBPRZ when thin (unmapped blocks read as zeros); lowest aligned LBA 0.
  data[14] = lu.thinProvisioned ? 0xc0 : 0x00;
  returnData(task, data, allocationLength);
}
