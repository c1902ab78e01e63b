/** REPORT TARGET PORT GROUPS (SPC-4 6.27): MAINTENANCE IN, service action 0Ah. */
import { ALUA_STATE_CODES } from './alua';
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { ScsiTask } from './task';

const enum ParameterDataFormat {
  LengthOnly = 0,
  Extended = 1,
}

/** T_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP: every state we can be put in (no offline, no LBA-dependent). */
const SUPPORTED_STATES = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;

/** IMPLICIT TRANSITION TIME: 0 = not specified (our transitions are immediate; HA reports transitioning itself). */
const IMPLICIT_TRANSITION_SECONDS = 0;

export function reportTargetPortGroups(lu: LogicalUnit, task: ScsiTask): void {
  const cdb = task.cdb;
  const format = cdb[1] >> 5;
  if (format !== ParameterDataFormat.LengthOnly && format !== ParameterDataFormat.Extended) return lu.invalidFieldInCdb(task, 1, 7);
  const allocationLength = cdb.readUInt32BE(6);
  const groups = lu.alua.portGroups(task.nexus);
  const headerLength = format === ParameterDataFormat.Extended ? 8 : 4;
  let length = headerLength;
  for (const g of groups) length += 8 + 4 * g.relativeTargetPortIds.length;
  const data = Buffer.alloc(length);
  data.writeUInt32BE(length - 4, 0); // RETURN DATA LENGTH: everything after this field
  if (format === ParameterDataFormat.Extended) {
    data[4] = 0x10; // FORMAT TYPE 001b
    data[5] = IMPLICIT_TRANSITION_SECONDS;
  }
  let at = headerLength;
  for (const g of groups) {
    const ports = g.relativeTargetPortIds.slice(0, 255);
    data[at] = ALUA_STATE_CODES[lu.alua.stateOf(g.id)]; // PREF 0
    data[at + 1] = SUPPORTED_STATES;
    data.writeUInt16BE(g.id, at + 2);
    data[at + 5] = lu.alua.statusCodeOf(g.id);
    data[at + 7] = ports.length;
    at += 8;
    for (const port of ports) {
      data.writeUInt16BE(port & 0xffff, at + 2);
      at += 4;
    }
  }
  returnData(task, data, allocationLength);
}
