/**
 * WRITE SAME (10) and (16) (SBC-3 5.41, 5.42): one block of Data-Out (or zeros with NDOB) written to
 * every block of the range, in chunks of at most 1 MiB. With UNMAP on a thin LU the range is
 * deallocated whatever the pattern (as LIO does and libiscsi expects); it then reads as zeros (LBPRZ).
 */
import { dataBuffers } from '@tandem/storage';
import { readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { failStoreError } from './readWrite';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';
import { discardBlocks } from './unmap';

const WRPROTECT = 0xe0;
const ANCHOR = 0x10;
const UNMAP = 0x08;
/** PBDATA / LBDATA (obsolete in SBC-3): this LU does not fill in block addresses. */
const BLOCK_DATA = 0x06;
const NDOB = 0x01;
const CHUNK_BYTES = 1024 * 1024;

type Result = void | Promise<void>;

export function writeSame10(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  return writeSame(lu, task, cdb.readUInt32BE(2), cdb.readUInt16BE(7), false, 7);
}

export function writeSame16(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  return writeSame(lu, task, readUInt64(cdb, 2), cdb.readUInt32BE(10), (cdb[1] & NDOB) !== 0, 10);
}

function writeSame(lu: LogicalUnit, task: ScsiTask, lba: number, numberOfBlocks: number, noDataOut: boolean, lengthByte: number): Result {
  const byte1 = task.cdb[1];
  if (byte1 & WRPROTECT) return lu.invalidFieldInCdb(task, 1, 7);
  // ANCHOR needs UNMAP and anchored-LBA support (ANC_SUP = 0): invalid either way.
  if (byte1 & ANCHOR) return lu.invalidFieldInCdb(task, 1, 4);
  if (byte1 & BLOCK_DATA) return lu.invalidFieldInCdb(task, 1, 2);
  const unmap = (byte1 & UNMAP) !== 0;
  // A fully provisioned LU has nothing to unmap (LBPWS = LBPWS10 = 0).
  if (unmap && !lu.thinProvisioned) return lu.invalidFieldInCdb(task, 1, 3);

  let blocks = numberOfBlocks;
  if (blocks === 0) {
    // WSNZ = 0: zero blocks means from LBA to the last block.
    if (lba > lu.blockCount) return lu.lbaOutOfRange(task);
    blocks = lu.blockCount - lba;
  } else if (lu.outOfRange(task, lba, blocks)) {
    return;
  }
  if (blocks > lu.maxWriteSameBlocks) return lu.invalidFieldInCdb(task, lengthByte);

  const blockSize = lu.blockSize;
  let pattern: Buffer | null = null;
  if (!noDataOut) {
    task.dataOutWanted = blockSize;
    const dataOut = task.dataOut;
    const have = dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length);
    // The Data-Out is exactly one logical block.
    if (task.expectedLength !== blockSize || have < blockSize) {
      return lu.fail(task, SenseKey.IllegalRequest, Asc.ParameterListLengthError);
    }
    pattern = dataOut!;
  }
  if (blocks === 0) return;
  if (unmap) return discardBlocks(lu, task, lba, blocks).then(() => undefined);
  return writePattern(lu, task, pattern, lba, blocks);
}

/** Writes `pattern` (one block; null = zeros) over [lba, lba + blocks) under the range lock. */
async function writePattern(lu: LogicalUnit, task: ScsiTask, pattern: Buffer | null, lba: number, blocks: number): Promise<void> {
  const blockSize = lu.blockSize;
  const total = blocks * blockSize;
  const chunkBytes = Math.min(total, Math.max(blockSize, CHUNK_BYTES - (CHUNK_BYTES % blockSize)));
  const chunk = dataBuffers.take(chunkBytes);
  if (pattern === null) chunk.fill(0, 0, chunkBytes);
  else for (let at = 0; at < chunkBytes; at += blockSize) pattern.copy(chunk, at, 0, blockSize);
  const fua = !lu.modePages.writeCacheEnabled;
  const lock = lu.lbaLock;
  let slot = lock.tryAcquire(lba, blocks);
  if (slot < 0) slot = await lock.acquire(lba, blocks);
  try {
    const start = lba * blockSize;
    for (let done = 0; done < total; done += chunkBytes) {
      const length = Math.min(chunkBytes, total - done);
      await lu.store.write(chunk, 0, length, start + done, fua && done + length === total);
    }
  } catch (err) {
    failStoreError(lu, task, err, Asc.WriteError);
  } finally {
    lock.release(slot);
    dataBuffers.give(chunk);
  }
}
