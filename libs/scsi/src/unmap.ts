/**
 * UNMAP (SBC-3 5.28): deallocates the LBA ranges of the parameter list on a thin LU. Unmapped blocks
 * read back as zeros (LBPRZ). The whole list is checked before anything is deallocated, so a bad
 * descriptor leaves the medium as it was.
 */
import { LogicalUnit } from './logicalUnit';
import { failStoreError } from './readWrite';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';

export interface UnmapExtent {
  lba: number;
  blocks: number;
}

export interface UnmapLimits {
  blockCount: number;
  maxDescriptors: number;
  /** Largest total of blocks one UNMAP may deallocate (MAXIMUM UNMAP LBA COUNT). */
  maxBlocks: number;
}

export type UnmapParseResult =
  | { ok: true; extents: UnmapExtent[] }
  | { ok: false; asc: Asc; /** parameter list byte of the offending field, for INVALID FIELD IN PARAMETER LIST */ byte?: number };

const HEADER_LENGTH = 8;
const DESCRIPTOR_LENGTH = 16;

/** Decodes and checks an UNMAP parameter list of `length` bytes. */
export function parseUnmapParameterList(data: Buffer, length: number, limits: UnmapLimits): UnmapParseResult {
  if (length === 0) return { ok: true, extents: [] };
  if (length < HEADER_LENGTH) return { ok: false, asc: Asc.ParameterListLengthError };
  // UNMAP BLOCK DESCRIPTOR DATA LENGTH: a descriptor cut short (by it or by the list length) is ignored.
  const described = data.readUInt16BE(2);
  const available = Math.min(described, length - HEADER_LENGTH);
  const count = Math.floor(available / DESCRIPTOR_LENGTH);
  if (count > limits.maxDescriptors) return { ok: false, asc: Asc.InvalidFieldInParameterList, byte: 2 };
  const extents: UnmapExtent[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const at = HEADER_LENGTH + i * DESCRIPTOR_LENGTH;
    const lba = data.readUInt32BE(at) * 0x100000000 + data.readUInt32BE(at + 4);
    const blocks = data.readUInt32BE(at + 8);
    if (lba + blocks > limits.blockCount) return { ok: false, asc: Asc.LbaOutOfRange };
    total += blocks;
    if (total > limits.maxBlocks) return { ok: false, asc: Asc.InvalidFieldInParameterList, byte: at + 8 };
    if (blocks > 0) extents.push({ lba, blocks });
  }
  return { ok: true, extents };
}

export function unmap(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  const cdb = task.cdb;
  // ANCHOR: anchored LBAs are not supported (ANC_SUP = 0).
  if (cdb[1] & 0x01) return lu.invalidFieldInCdb(task, 1, 0);
  const listLength = cdb.readUInt16BE(7);
  task.dataOutWanted = listLength;
  const dataOut = task.dataOut;
  const have = dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length, listLength);
  if (listLength > 0 && have < HEADER_LENGTH) return lu.fail(task, SenseKey.IllegalRequest, Asc.ParameterListLengthError);
  const parsed = parseUnmapParameterList(dataOut ?? EMPTY, have, {
    blockCount: lu.blockCount,
    maxDescriptors: lu.maxUnmapDescriptors,
    maxBlocks: lu.maxUnmapBlocks,
  });
  if (!parsed.ok) {
    if (parsed.asc === Asc.InvalidFieldInParameterList) return lu.invalidFieldInParameterList(task, parsed.byte ?? 0);
    return lu.fail(task, SenseKey.IllegalRequest, parsed.asc);
  }
  if (parsed.extents.length === 0) return;
  return deallocate(lu, task, parsed.extents);
}

const EMPTY = Buffer.alloc(0);

/** Deallocates each extent under the range lock, one at a time (a task never holds two ranges). */
async function deallocate(lu: LogicalUnit, task: ScsiTask, extents: UnmapExtent[]): Promise<void> {
  for (const { lba, blocks } of extents) {
    if (!(await discardBlocks(lu, task, lba, blocks))) return;
  }
}

/** Deallocates [lba, lba + blocks) under the range lock; false (and the task failed) on a store error. */
export async function discardBlocks(lu: LogicalUnit, task: ScsiTask, lba: number, blocks: number): Promise<boolean> {
  const lock = lu.lbaLock;
  let slot = lock.tryAcquire(lba, blocks);
  if (slot < 0) slot = await lock.acquire(lba, blocks);
  try {
    await lu.store.discard!(lba * lu.blockSize, blocks * lu.blockSize);
    return true;
  } catch (err) {
    failStoreError(lu, task, err, Asc.WriteError);
    return false;
  } finally {
    lock.release(slot);
  }
}
