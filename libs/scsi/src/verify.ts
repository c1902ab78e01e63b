/** VERIFY (10/12/16) (SBC-3 5.33-5.35): BYTCHK 00b medium only, 01b compare, 11b one block against each. */
import { dataBuffers } from '@tandem/storage';
import { readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { failStoreError } from './readWrite';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';

type Result = void | Promise<void>;

export function verify10(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  return verifyBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt16BE(7), 7);
}

export function verify12(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  return verifyBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt32BE(6), 6);
}

export function verify16(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  return verifyBlocks(lu, task, readUInt64(cdb, 2), cdb.readUInt32BE(10), 10);
}

const enum ByteCheck {
  MediumOnly = 0,
  Compare = 1,
  Reserved = 2,
  CompareOneBlockToEach = 3,
}

function verifyBlocks(lu: LogicalUnit, task: ScsiTask, lba: number, blocks: number, lengthByte: number): Result {
  const byte1 = task.cdb[1];
  if (byte1 & 0xe0) return lu.invalidFieldInCdb(task, 1, 7); // VRPROTECT without protection information
  const byteCheck = ((byte1 >> 1) & 0x03) as ByteCheck;
  if (byteCheck === ByteCheck.Reserved) return lu.invalidFieldInCdb(task, 1, 2);
  if (lu.outOfRange(task, lba, blocks)) return;
  if (blocks > lu.maxTransferBlocks) return lu.invalidFieldInCdb(task, lengthByte);
  // Medium verification: the store answers reads for every block in range, so there is nothing more to check.
  if (blocks === 0 || byteCheck === ByteCheck.MediumOnly) return;

  const blockSize = lu.blockSize;
  const wanted = byteCheck === ByteCheck.Compare ? blocks * blockSize : blockSize;
  task.dataOutWanted = wanted;
  const dataOut = task.dataOut;
  let have = dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length);
  if (have > wanted) have = wanted;
  if (have < wanted) {
    // As for WRITE: only the transferred whole blocks are compared; a partial block cannot be.
    if (have % blockSize !== 0) return lu.fail(task, SenseKey.IllegalRequest, Asc.InvalidFieldInInformationUnit);
    if (have === 0) return;
  }
  const compareBlocks = byteCheck === ByteCheck.Compare ? have / blockSize : blocks;
  return compareWithMedium(lu, task, dataOut!, lba, compareBlocks, byteCheck === ByteCheck.CompareOneBlockToEach);
}

async function compareWithMedium(
  lu: LogicalUnit,
  task: ScsiTask,
  dataOut: Buffer,
  lba: number,
  blocks: number,
  oneBlockToEach: boolean,
): Promise<void> {
  const blockSize = lu.blockSize;
  const length = blocks * blockSize;
  const medium = dataBuffers.take(length);
  try {
    try {
      await lu.store.read(medium, 0, length, lba * blockSize);
    } catch (err) {
      return failStoreError(lu, task, err, Asc.UnrecoveredReadError);
    }
    const offset = firstMismatch(medium, dataOut, blocks, blockSize, oneBlockToEach);
    // SBC-3: INFORMATION holds the offset of the first byte that did not match.
    if (offset >= 0) lu.fail(task, SenseKey.Miscompare, Asc.MiscompareDuringVerify, offset);
  } finally {
    dataBuffers.give(medium);
  }
}

/** Byte offset into the verified range of the first difference, or -1. */
function firstMismatch(medium: Buffer, dataOut: Buffer, blocks: number, blockSize: number, oneBlockToEach: boolean): number {
  for (let block = 0; block < blocks; block++) {
    const start = block * blockSize;
    const expectedStart = oneBlockToEach ? 0 : start;
    if (medium.compare(dataOut, expectedStart, expectedStart + blockSize, start, start + blockSize) === 0) continue;
    for (let i = 0; i < blockSize; i++) {
      if (medium[start + i] !== dataOut[expectedStart + i]) return start + i;
    }
  }
  return -1;
}
