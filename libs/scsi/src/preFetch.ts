/**
 * PRE-FETCH (10/16) (SBC-3 5.6, 5.7). There is no cache of our own to load (the host page cache is not
 * ours to promise), so the answer is GOOD — "the blocks may not all fit in the cache" — never CONDITION MET.
 */
import { readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { ScsiTask } from './task';

export function preFetch10(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  lu.outOfRange(task, cdb.readUInt32BE(2), cdb.readUInt16BE(7));
}

export function preFetch16(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  lu.outOfRange(task, readUInt64(cdb, 2), cdb.readUInt32BE(10));
}
