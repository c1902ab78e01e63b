/** SYNCHRONIZE CACHE (10/16) (SBC-3 5.22, 5.23): the store flushes everything, whatever the range. */
import { readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { failStoreError } from './readWrite';
import { Asc } from './sense';
import { ScsiTask } from './task';

export function synchronizeCache10(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  const cdb = task.cdb;
  return synchronizeRange(lu, task, cdb.readUInt32BE(2), cdb.readUInt16BE(7));
}

export function synchronizeCache16(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  const cdb = task.cdb;
  return synchronizeRange(lu, task, readUInt64(cdb, 2), cdb.readUInt32BE(10));
}

function synchronizeRange(lu: LogicalUnit, task: ScsiTask, lba: number, blocks: number): void | Promise<void> {
  // NUMBER OF LOGICAL BLOCKS 0 means "from lba to the end"; the range must still be inside the LU.
  if (lu.outOfRange(task, lba, blocks)) return;
  // IMMED is honoured by waiting anyway: the initiator only learns of completion sooner or later.
  return flush(lu, task);
}

export async function flush(lu: LogicalUnit, task: ScsiTask): Promise<void> {
  try {
    await lu.store.flush();
  } catch (err) {
    failStoreError(lu, task, err, Asc.WriteError);
  }
}
