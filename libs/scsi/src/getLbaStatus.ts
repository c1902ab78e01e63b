/**
 * GET LBA STATUS (SBC-3 5.6), a SERVICE ACTION IN (16) service action, thin LUs only: the mapped and
 * deallocated extents from STARTING LBA on, as the store's allocation map has them.
 */
import { readUInt64, writeUInt64 } from './cdb';
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { failStoreError } from './readWrite';
import { Asc } from './sense';
import { ScsiTask } from './task';

export const enum ProvisioningStatus {
  Mapped = 0,
  Deallocated = 1,
}

const HEADER_LENGTH = 8;
const DESCRIPTOR_LENGTH = 16;
/** More descriptors than an initiator reasonably asks for in one go. */
const MAX_DESCRIPTORS = 512;
const MAX_DESCRIPTOR_BLOCKS = 0xffffffff;

export function getLbaStatus(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  const cdb = task.cdb;
  const start = readUInt64(cdb, 2);
  const allocationLength = cdb.readUInt32BE(10);
  if (start >= lu.blockCount) return lu.lbaOutOfRange(task);
  const room = Math.floor((allocationLength - HEADER_LENGTH) / DESCRIPTOR_LENGTH);
  const maxDescriptors = Math.min(MAX_DESCRIPTORS, Math.max(1, room));
  return describe(lu, task, start, maxDescriptors, allocationLength);
}

async function describe(lu: LogicalUnit, task: ScsiTask, start: number, maxDescriptors: number, allocationLength: number): Promise<void> {
  const blockSize = lu.blockSize;
  const windowEnd = Math.min(lu.blockCount, start + MAX_DESCRIPTOR_BLOCKS);
  let ranges;
  try {
    ranges = await lu.store.mappedRanges!(start * blockSize, (windowEnd - start) * blockSize, maxDescriptors);
  } catch (err) {
    return failStoreError(lu, task, err, Asc.UnrecoveredReadError);
  }
  const descriptors: Array<[number, number, ProvisioningStatus]> = [];
  let cursor = start;
  for (const range of ranges) {
    // A block is mapped when any byte of it is allocated.
    const first = Math.max(cursor, Math.floor(range.position / blockSize));
    const end = Math.min(windowEnd, Math.ceil((range.position + range.length) / blockSize));
    if (end <= first) continue;
    if (first > cursor) descriptors.push([cursor, first - cursor, ProvisioningStatus.Deallocated]);
    descriptors.push([first, end - first, ProvisioningStatus.Mapped]);
    cursor = end;
  }
  // The tail is known to be a hole only if the map was not cut short at maxDescriptors ranges.
  if (cursor < windowEnd && ranges.length < maxDescriptors) {
    descriptors.push([cursor, windowEnd - cursor, ProvisioningStatus.Deallocated]);
  }
  const count = Math.min(descriptors.length, maxDescriptors);
  const data = Buffer.alloc(HEADER_LENGTH + count * DESCRIPTOR_LENGTH);
  data.writeUInt32BE(data.length - 4, 0); // PARAMETER DATA LENGTH: the bytes after this field
  for (let i = 0; i < count; i++) {
    const [lba, blocks, status] = descriptors[i];
    const at = HEADER_LENGTH + i * DESCRIPTOR_LENGTH;
    writeUInt64(data, lba, at);
    data.writeUInt32BE(blocks, at + 8);
    data[at + 12] = status;
  }
  returnData(task, data, allocationLength);
}
