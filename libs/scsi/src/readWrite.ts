/**
 * READ (6/10/12/16), WRITE (6/10/12/16) and WRITE AND VERIFY (10/12/16) (SBC-3 5.8-5.12, 5.26-5.33).
 * The hot path: no allocation besides the pooled Data-In buffer and the store's own promise.
 */
import { dataBuffers, StoreError } from '@tandem/storage';
import { readLba6, readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';

const EMPTY = Buffer.alloc(0);

/** RDPROTECT / WRPROTECT / VRPROTECT: this LU has no protection information, so any value but 0 is invalid. */
const PROTECT_MASK = 0xe0;
const FUA = 0x08;

type Result = void | Promise<void>;

// ---- READ ----

export function read6(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  const length = cdb[4];
  // READ (6): a TRANSFER LENGTH of 0 means 256 blocks.
  return readBlocks(lu, task, readLba6(cdb), length === 0 ? 256 : length, 4);
}

export function read10(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (cdb[1] & PROTECT_MASK) return lu.invalidFieldInCdb(task, 1, 7);
  return readBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt16BE(7), 7);
}

export function read12(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (cdb[1] & PROTECT_MASK) return lu.invalidFieldInCdb(task, 1, 7);
  return readBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt32BE(6), 6);
}

export function read16(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (cdb[1] & PROTECT_MASK) return lu.invalidFieldInCdb(task, 1, 7);
  return readBlocks(lu, task, readUInt64(cdb, 2), cdb.readUInt32BE(10), 10);
}

function readBlocks(lu: LogicalUnit, task: ScsiTask, lba: number, blocks: number, lengthByte: number): Result {
  if (lu.outOfRange(task, lba, blocks)) return;
  if (blocks > lu.maxTransferBlocks) return lu.invalidFieldInCdb(task, lengthByte);
  // An initiator that announced no Data-In (no R bit) gets none; the command still succeeds.
  if (!task.readDirection) return;
  const blockSize = lu.blockSize;
  const bytes = blocks * blockSize;
  task.dataInLength = bytes;
  // Read only the whole blocks the initiator will receive: min(bytes, expected length).
  const wanted = bytes < task.expectedLength ? bytes : task.expectedLength;
  if (wanted === 0) {
    task.dataIn = EMPTY;
    return;
  }
  const length = Math.ceil(wanted / blockSize) * blockSize;
  const buf = dataBuffers.take(length);
  task.dataIn = buf;
  task.dataInPooled = true;
  return readInto(lu, task, buf, length, lba * blockSize);
}

async function readInto(lu: LogicalUnit, task: ScsiTask, buf: Buffer, length: number, position: number): Promise<void> {
  try {
    await lu.store.read(buf, 0, length, position);
  } catch (err) {
    dataBuffers.give(buf);
    task.dataIn = null;
    task.dataInPooled = false;
    failStoreError(lu, task, err, Asc.UnrecoveredReadError);
  }
}

// ---- WRITE ----

export function write6(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  const length = cdb[4];
  return writeBlocks(lu, task, readLba6(cdb), length === 0 ? 256 : length, false, 4);
}

export function write10(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (cdb[1] & PROTECT_MASK) return lu.invalidFieldInCdb(task, 1, 7);
  return writeBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt16BE(7), (cdb[1] & FUA) !== 0, 7);
}

export function write12(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (cdb[1] & PROTECT_MASK) return lu.invalidFieldInCdb(task, 1, 7);
  return writeBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt32BE(6), (cdb[1] & FUA) !== 0, 6);
}

export function write16(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (cdb[1] & PROTECT_MASK) return lu.invalidFieldInCdb(task, 1, 7);
  return writeBlocks(lu, task, readUInt64(cdb, 2), cdb.readUInt32BE(10), (cdb[1] & FUA) !== 0, 10);
}

// ---- WRITE AND VERIFY: written through to stable storage; BYTCHK 01b compares with what was just sent ----

export function writeAndVerify10(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (!checkWriteAndVerifyByte1(lu, task)) return;
  return writeBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt16BE(7), true, 7);
}

export function writeAndVerify12(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (!checkWriteAndVerifyByte1(lu, task)) return;
  return writeBlocks(lu, task, cdb.readUInt32BE(2), cdb.readUInt32BE(6), true, 6);
}

export function writeAndVerify16(lu: LogicalUnit, task: ScsiTask): Result {
  const cdb = task.cdb;
  if (!checkWriteAndVerifyByte1(lu, task)) return;
  return writeBlocks(lu, task, readUInt64(cdb, 2), cdb.readUInt32BE(10), true, 10);
}

function checkWriteAndVerifyByte1(lu: LogicalUnit, task: ScsiTask): boolean {
  const byte1 = task.cdb[1];
  if (byte1 & PROTECT_MASK) {
    lu.invalidFieldInCdb(task, 1, 7);
    return false;
  }
  // BYTCHK (bits 2:1): 00b verify the medium, 01b compare with the Data-Out; 1xb reserved (SBC-4).
  if (byte1 & 0x04) {
    lu.invalidFieldInCdb(task, 1, 2);
    return false;
  }
  return true;
}

function writeBlocks(lu: LogicalUnit, task: ScsiTask, lba: number, blocks: number, fua: boolean, lengthByte: number): Result {
  if (lu.outOfRange(task, lba, blocks)) return;
  if (blocks > lu.maxTransferBlocks) return lu.invalidFieldInCdb(task, lengthByte);
  const blockSize = lu.blockSize;
  const bytes = blocks * blockSize;
  task.dataOutWanted = bytes;
  if (bytes === 0) return;
  const dataOut = task.dataOut;
  let length = dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length);
  if (length > bytes) length = bytes;
  if (length < bytes) {
    // RFC 7143 11.4.5.1: with a smaller expected length only the whole blocks received are written; the
    // transport reports the rest as residual overflow, so the initiator knows what did not reach the medium.
    length -= length % blockSize;
    if (length === 0) return;
  }
  return writeFrom(lu, task, dataOut!, length, lba, fua || !lu.modePages.writeCacheEnabled);
}

async function writeFrom(lu: LogicalUnit, task: ScsiTask, buf: Buffer, length: number, lba: number, fua: boolean): Promise<void> {
  // Exclusive against COMPARE AND WRITE (and other writers) of the same blocks; uncontended it costs a scan.
  const lock = lu.lbaLock;
  const blocks = length / lu.blockSize;
  let slot = lock.tryAcquire(lba, blocks);
  if (slot < 0) slot = await lock.acquire(lba, blocks);
  try {
    await lu.store.write(buf, 0, length, lba * lu.blockSize, fua);
  } catch (err) {
    failStoreError(lu, task, err, Asc.WriteError);
  } finally {
    lock.release(slot);
  }
}

/**
 * A store that is closed is NOT READY; a HA replica that may not serve now answers as a port in the unavailable
 * state (what makes MPIO move to another path); any other failure is a MEDIUM ERROR with the given code.
 */
export function failStoreError(lu: LogicalUnit, task: ScsiTask, err: unknown, mediumAsc: Asc): void {
  if (err instanceof StoreError && err.code === 'UNAVAILABLE') {
    lu.fail(task, SenseKey.NotReady, Asc.LuNotAccessibleTargetPortInUnavailableState);
  } else if (err instanceof StoreError && err.code === 'READ_ONLY') {
    lu.fail(task, SenseKey.DataProtect, Asc.WriteProtected);
  } else if (err instanceof StoreError && err.code === 'CLOSED') {
    lu.fail(task, SenseKey.NotReady, Asc.LuNotReadyCauseNotReportable);
  } else {
    lu.fail(task, SenseKey.MediumError, mediumAsc);
  }
}
