/**
 * MODE SELECT (6/10) (SPC-4 6.9, 6.10). The whole parameter list is validated before anything
 * changes; a change raises MODE PARAMETERS CHANGED for every other I_T nexus.
 */
import { readUInt64 } from './cdb';
import { LogicalUnit } from './logicalUnit';
import { findModePage } from './modePages';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';

export function modeSelect6(lu: LogicalUnit, task: ScsiTask): void {
  modeSelect(lu, task, false, task.cdb[4]);
}

export function modeSelect10(lu: LogicalUnit, task: ScsiTask): void {
  modeSelect(lu, task, true, task.cdb.readUInt16BE(7));
}

function modeSelect(lu: LogicalUnit, task: ScsiTask, ten: boolean, parameterListLength: number): void {
  task.dataOutWanted = parameterListLength;
  // SP: no page is savable.
  if (task.cdb[1] & 0x01) return lu.invalidFieldInCdb(task, 1, 0);
  if (parameterListLength === 0) return;
  const dataOut = task.dataOut;
  const length = Math.min(parameterListLength, dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length));
  const list = dataOut === null ? Buffer.alloc(0) : dataOut.subarray(0, length);
  const lengthError = (): void => lu.fail(task, SenseKey.IllegalRequest, Asc.ParameterListLengthError);

  // ---- header ----
  const headerLength = ten ? 8 : 4;
  if (list.length < headerLength) return lengthError();
  const mediumTypeAt = ten ? 2 : 1;
  if (list[mediumTypeAt] !== 0) return lu.invalidFieldInParameterList(task, mediumTypeAt);
  const longLba = ten && (list[4] & 0x01) !== 0;
  const descriptorLength = ten ? list.readUInt16BE(6) : list[3];
  const descriptorLengthAt = ten ? 6 : 3;
  if (descriptorLength !== 0 && descriptorLength !== (longLba ? 16 : 8)) {
    return lu.invalidFieldInParameterList(task, descriptorLengthAt);
  }
  if (headerLength + descriptorLength > list.length) return lengthError();

  // ---- block descriptor: may only restate the current geometry ----
  if (descriptorLength > 0) {
    const at = headerLength;
    if (longLba) {
      const blocks = readUInt64(list, at);
      if (blocks !== 0 && blocks !== lu.blockCount) return lu.invalidFieldInParameterList(task, at);
      if (list.readUInt32BE(at + 12) !== lu.blockSize) return lu.invalidFieldInParameterList(task, at + 12);
    } else {
      const blocks = list.readUInt32BE(at);
      const current = lu.blockCount > 0xffffffff ? 0xffffffff : lu.blockCount;
      if (blocks !== 0 && blocks !== current) return lu.invalidFieldInParameterList(task, at);
      if (list.readUIntBE(at + 5, 3) !== lu.blockSize) return lu.invalidFieldInParameterList(task, at + 5);
    }
  }

  // ---- pages ----
  const updates: Array<{ code: number; bytes: Buffer }> = [];
  let at = headerLength + descriptorLength;
  while (at < list.length) {
    if (list.length - at < 2) return lengthError();
    const byte0 = list[at];
    if (byte0 & 0x80) return lu.invalidFieldInParameterList(task, at, 7); // PS is reserved in MODE SELECT
    if (byte0 & 0x40) return lu.invalidFieldInParameterList(task, at, 6); // no subpages
    const def = findModePage(byte0 & 0x3f);
    if (!def) return lu.invalidFieldInParameterList(task, at, 5);
    const pageLength = list[at + 1];
    if (pageLength !== def.defaults[1]) return lu.invalidFieldInParameterList(task, at + 1);
    if (at + 2 + pageLength > list.length) return lengthError();
    const current = lu.modePages.page(def.code, 0);
    const proposed = Buffer.from(list.subarray(at, at + 2 + pageLength));
    proposed[0] = current[0];
    for (let i = 2; i < proposed.length; i++) {
      if ((proposed[i] ^ current[i]) & ~def.changeable[i] & 0xff) return lu.invalidFieldInParameterList(task, at + i);
    }
    updates.push({ code: def.code, bytes: proposed });
    at += 2 + pageLength;
  }

  let changed = false;
  for (const { code, bytes } of updates) {
    if (!bytes.equals(lu.modePages.page(code, 0))) {
      lu.modePages.setPage(code, bytes);
      changed = true;
    }
  }
  if (changed) lu.unitAttentions.raiseAll(Asc.ModeParametersChanged, task.nexus?.id);
}
