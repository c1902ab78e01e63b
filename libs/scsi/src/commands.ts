/**
 * The command set of a LU: every supported opcode (and service action) with its handler and the
 * CDB USAGE DATA that REPORT SUPPORTED OPERATION CODES returns. A set usage bit is a bit the
 * handlers interpret; reserved and ignored fields are 0. Adding a command = one entry here.
 */
import { Opcode, ServiceAction, cdbLengthOf } from './cdb';
import { inquiry } from './inquiry';
import { LogicalUnit } from './logicalUnit';
import { modeSelect10, modeSelect6 } from './modeSelect';
import { modeSense10, modeSense6 } from './modeSense';
import { preFetch10, preFetch16 } from './preFetch';
import { readCapacity10, readCapacity16 } from './readCapacity';
import {
  read10,
  read12,
  read16,
  read6,
  write10,
  write12,
  write16,
  write6,
  writeAndVerify10,
  writeAndVerify12,
  writeAndVerify16,
} from './readWrite';
import { reportSupportedOperationCodes } from './reportSupportedOpcodes';
import { requestSense } from './requestSense';
import { preventAllowMediumRemoval, startStopUnit } from './startStopUnit';
import { synchronizeCache10, synchronizeCache16 } from './synchronizeCache';
import { ScsiTask } from './task';
import { testUnitReady } from './testUnitReady';
import { verify10, verify12, verify16 } from './verify';

export type CommandHandler = (lu: LogicalUnit, task: ScsiTask) => void | Promise<void>;

export interface CommandDescriptor {
  readonly opcode: number;
  /** Set for opcodes that carry a SERVICE ACTION field (byte 1, bits 4:0). */
  readonly serviceAction?: number;
  readonly name: string;
  /** CDB USAGE DATA (SPC-4 6.35.3); its length is the CDB length. */
  readonly usage: readonly number[];
  /** Handler for this opcode/service action; null when the target answers it itself (REPORT LUNS). */
  readonly handler: CommandHandler | null;
  /** RCTD recommended timeout, seconds. */
  readonly timeoutSeconds: number;
}

const FF4 = [0xff, 0xff, 0xff, 0xff];
const FF8 = [...FF4, ...FF4];
/** RDPROTECT/WRPROTECT, DPO, FUA, FUA_NV. */
const RW_FLAGS = 0xfa;
/** VRPROTECT/WRPROTECT, DPO, BYTCHK (2 bits). */
const VERIFY_FLAGS = 0xf6;

function command(
  opcode: number,
  name: string,
  usage: number[],
  handler: CommandHandler | null,
  timeoutSeconds = 30,
  serviceAction?: number,
): CommandDescriptor {
  return { opcode, serviceAction, name, usage: [opcode, ...usage], handler, timeoutSeconds };
}

/** Ascending by opcode then service action, the order REPORT SUPPORTED OPERATION CODES lists them. */
export const COMMANDS: readonly CommandDescriptor[] = [
  command(Opcode.TestUnitReady, 'TEST UNIT READY', [0, 0, 0, 0, 0], testUnitReady),
  command(Opcode.RequestSense, 'REQUEST SENSE', [0x01, 0, 0, 0xff, 0], requestSense),
  command(Opcode.Read6, 'READ (6)', [0x1f, 0xff, 0xff, 0xff, 0], read6),
  command(Opcode.Write6, 'WRITE (6)', [0x1f, 0xff, 0xff, 0xff, 0], write6),
  command(Opcode.Inquiry, 'INQUIRY', [0x01, 0xff, 0xff, 0xff, 0], inquiry),
  command(Opcode.ModeSelect6, 'MODE SELECT (6)', [0x11, 0, 0, 0xff, 0], modeSelect6),
  command(Opcode.ModeSense6, 'MODE SENSE (6)', [0x08, 0xff, 0xff, 0xff, 0], modeSense6),
  command(Opcode.StartStopUnit, 'START STOP UNIT', [0x01, 0, 0, 0xf7, 0], startStopUnit, 60),
  command(Opcode.PreventAllowMediumRemoval, 'PREVENT ALLOW MEDIUM REMOVAL', [0, 0, 0, 0x03, 0], preventAllowMediumRemoval),
  command(Opcode.ReadCapacity10, 'READ CAPACITY (10)', [0, ...FF4, 0, 0, 0x01, 0], readCapacity10),
  command(Opcode.Read10, 'READ (10)', [RW_FLAGS, ...FF4, 0, 0xff, 0xff, 0], read10),
  command(Opcode.Write10, 'WRITE (10)', [RW_FLAGS, ...FF4, 0, 0xff, 0xff, 0], write10),
  command(Opcode.WriteAndVerify10, 'WRITE AND VERIFY (10)', [VERIFY_FLAGS, ...FF4, 0, 0xff, 0xff, 0], writeAndVerify10),
  command(Opcode.Verify10, 'VERIFY (10)', [VERIFY_FLAGS, ...FF4, 0, 0xff, 0xff, 0], verify10),
  command(Opcode.PreFetch10, 'PRE-FETCH (10)', [0x02, ...FF4, 0, 0xff, 0xff, 0], preFetch10),
  command(Opcode.SynchronizeCache10, 'SYNCHRONIZE CACHE (10)', [0x02, ...FF4, 0, 0xff, 0xff, 0], synchronizeCache10, 60),
  command(Opcode.ModeSelect10, 'MODE SELECT (10)', [0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0], modeSelect10),
  command(Opcode.ModeSense10, 'MODE SENSE (10)', [0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0], modeSense10),
  command(Opcode.Read16, 'READ (16)', [RW_FLAGS, ...FF8, ...FF4, 0, 0], read16),
  command(Opcode.Write16, 'WRITE (16)', [RW_FLAGS, ...FF8, ...FF4, 0, 0], write16),
  command(Opcode.WriteAndVerify16, 'WRITE AND VERIFY (16)', [VERIFY_FLAGS, ...FF8, ...FF4, 0, 0], writeAndVerify16),
  command(Opcode.Verify16, 'VERIFY (16)', [VERIFY_FLAGS, ...FF8, ...FF4, 0, 0], verify16),
  command(Opcode.PreFetch16, 'PRE-FETCH (16)', [0x02, ...FF8, ...FF4, 0, 0], preFetch16),
  command(Opcode.SynchronizeCache16, 'SYNCHRONIZE CACHE (16)', [0x02, ...FF8, ...FF4, 0, 0], synchronizeCache16, 60),
  command(
    Opcode.ServiceActionIn16,
    'READ CAPACITY (16)',
    [0x1f, 0, 0, 0, 0, 0, 0, 0, 0, ...FF4, 0, 0],
    readCapacity16,
    30,
    ServiceAction.ReadCapacity16,
  ),
  command(Opcode.ReportLuns, 'REPORT LUNS', [0, 0xff, 0, 0, 0, ...FF4, 0, 0], null),
  command(
    Opcode.MaintenanceIn,
    'REPORT SUPPORTED OPERATION CODES',
    [0x1f, 0x87, 0xff, 0xff, 0xff, ...FF4, 0, 0],
    (lu, task) => reportSupportedOperationCodes(COMMANDS, lu, task),
    30,
    ServiceAction.ReportSupportedOperationCodes,
  ),
  command(Opcode.Read12, 'READ (12)', [RW_FLAGS, ...FF4, ...FF4, 0, 0], read12),
  command(Opcode.Write12, 'WRITE (12)', [RW_FLAGS, ...FF4, ...FF4, 0, 0], write12),
  command(Opcode.WriteAndVerify12, 'WRITE AND VERIFY (12)', [VERIFY_FLAGS, ...FF4, ...FF4, 0, 0], writeAndVerify12),
  command(Opcode.Verify12, 'VERIFY (12)', [VERIFY_FLAGS, ...FF4, ...FF4, 0, 0], verify12),
];

export interface DispatchEntry {
  readonly handler: CommandHandler;
  readonly cdbLength: number;
}

/** Opcode-indexed handlers for the LU; opcodes with service actions dispatch on byte 1 themselves. */
export function buildDispatchTable(commands: readonly CommandDescriptor[]): (DispatchEntry | undefined)[] {
  const table: (DispatchEntry | undefined)[] = new Array(256).fill(undefined);
  const byServiceAction = new Map<number, Map<number, CommandHandler>>();
  for (const c of commands) {
    if (!c.handler) continue;
    if (c.serviceAction === undefined) {
      table[c.opcode] = { handler: c.handler, cdbLength: c.usage.length };
      continue;
    }
    let actions = byServiceAction.get(c.opcode);
    if (!actions) byServiceAction.set(c.opcode, (actions = new Map()));
    actions.set(c.serviceAction, c.handler);
  }
  for (const [opcode, actions] of byServiceAction) {
    const serviceActionHandler: CommandHandler = (lu, task) => {
      const handler = actions.get(task.cdb[1] & 0x1f);
      // SPC-4: an unsupported service action is INVALID FIELD IN CDB pointing at the field.
      return handler ? handler(lu, task) : lu.invalidFieldInCdb(task, 1, 4);
    };
    table[opcode] = { handler: serviceActionHandler, cdbLength: cdbLengthOf(opcode) };
  }
  return table;
}
