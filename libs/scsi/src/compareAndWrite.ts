/**
 * COMPARE AND WRITE (SBC-3 5.2): the Data-Out holds NUMBER OF LOGICAL BLOCKS of verify data then as
 * many of write data; the write happens only if the medium equals the verify data. The read, compare
 * and write run under the LU's LBA range lock, so no other writer of these blocks on this node can
 * slip in between (the atomicity VMware ATS and cluster file systems rely on).
 */
import { dataBuffers } from '@tandem/storage';
import { readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { failStoreError } from './readWrite';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';

const WRPROTECT = 0xe0;
const FUA = 0x08;
/** Byte of the NUMBER OF LOGICAL BLOCKS field. */
const NLB_BYTE = 13;

export function compareAndWrite(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  const cdb = task.cdb;
  if (cdb[1] & WRPROTECT) return lu.invalidFieldInCdb(task, 1, 7);
  const lba = readUInt64(cdb, 2);
  const blocks = cdb[NLB_BYTE];
  // SBC-3: zero blocks transfers nothing and is not an error, unless the initiator sends data anyway.
  if (blocks === 0) {
    if (lba > lu.blockCount) return lu.lbaOutOfRange(task);
    if (task.expectedLength !== 0) return lu.invalidFieldInCdb(task, NLB_BYTE);
    return;
  }
  if (lu.outOfRange(task, lba, blocks)) return;
  if (blocks > lu.maxCompareAndWriteBlocks) return lu.invalidFieldInCdb(task, NLB_BYTE);
  const half = blocks * lu.blockSize;
  task.dataOutWanted = 2 * half;
  // Comparing or writing a part makes no sense: the Data-Out must be exactly verify + write data.
  const dataOut = task.dataOut;
  const have = dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length);
  if (task.expectedLength !== 2 * half || have !== 2 * half) return lu.invalidFieldInCdb(task, NLB_BYTE);
  const fua = (cdb[1] & FUA) !== 0 || !lu.modePages.writeCacheEnabled;
  return compareThenWrite(lu, task, dataOut!, lba, blocks, fua);
}

async function compareThenWrite(lu: LogicalUnit, task: ScsiTask, dataOut: Buffer, lba: number, blocks: number, fua: boolean): Promise<void> {
  const lock = lu.lbaLock;
  const length = blocks * lu.blockSize;
  const position = lba * lu.blockSize;
  let slot = lock.tryAcquire(lba, blocks);
  if (slot < 0) slot = await lock.acquire(lba, blocks);
  const medium = dataBuffers.take(length);
  try {
    try {
      await lu.store.read(medium, 0, length, position);
    } catch (err) {
      return failStoreError(lu, task, err, Asc.UnrecoveredReadError);
    }
    const offset = firstDifference(medium, dataOut, length);
    // SBC-3: MISCOMPARE DURING VERIFY OPERATION, INFORMATION = offset of the first byte that differs.
    if (offset >= 0) return lu.fail(task, SenseKey.Miscompare, Asc.MiscompareDuringVerify, offset);
    try {
      await lu.store.write(dataOut, length, length, position, fua);
    } catch (err) {
      failStoreError(lu, task, err, Asc.WriteError);
    }
  } finally {
    dataBuffers.give(medium);
    lock.release(slot);
  }
}

/** Offset of the first byte where medium[0, length) and verify[0, length) differ, or -1. */
export function firstDifference(medium: Buffer, verify: Buffer, length: number): number {
  if (medium.compare(verify, 0, length, 0, length) === 0) return -1;
  // Narrow down by 4 KiB chunks with the native compare, then bytes.
  const CHUNK = 4096;
  let at = 0;
  while (at < length) {
    const end = Math.min(at + CHUNK, length);
    if (medium.compare(verify, at, end, at, end) !== 0) break;
    at = end;
  }
  for (; at < length; at++) if (medium[at] !== verify[at]) return at;
  return -1;
}
