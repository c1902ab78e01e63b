/**
 * The command set of a LU: every supported opcode (and service action) with its handler and the
 * CDB USAGE DATA that REPORT SUPPORTED OPERATION CODES returns. A set usage bit is a bit the
 * handlers interpret; reserved and ignored fields are 0. Adding a command = one entry here.
 */
import { AluaClass } from './alua';
import { Opcode, ServiceAction, cdbLengthOf } from './cdb';
import { compareAndWrite } from './compareAndWrite';
import { extendedCopy } from './extendedCopy';
import { getLbaStatus } from './getLbaStatus';
import { inquiry } from './inquiry';
import { LogicalUnit } from './logicalUnit';
import { AccessClass } from './persistentReservations';
import { readFullStatus, readKeys, readReservation, reportCapabilities } from './persistentReserveIn';
import { persistentReserveOut } from './persistentReserveOut';
import { modeSelect10, modeSelect6 } from './modeSelect';
import { modeSense10, modeSense6 } from './modeSense';
import { preFetch10, preFetch16 } from './preFetch';
import { readCapacity10, readCapacity16 } from './readCapacity';
import { copyOperatingParameters, copyStatus } from './receiveCopyResults';
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
import { reportTargetPortGroups } from './reportTargetPortGroups';
import { requestSense } from './requestSense';
import { release10, release6, reserve10, reserve6 } from './reserveRelease';
import { preventAllowMediumRemoval, startStopUnit } from './startStopUnit';
import { synchronizeCache10, synchronizeCache16 } from './synchronizeCache';
import { Asc, SenseKey } from './sense';
import { ScsiTask } from './task';
import { testUnitReady } from './testUnitReady';
import { unmap } from './unmap';
import { verify10, verify12, verify16 } from './verify';
import { writeSame10, writeSame16 } from './writeSame';

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
  /** Set for commands only some LUs offer (thin provisioning); others answer them as unsupported. */
  readonly supportedBy?: (lu: LogicalUnit) => boolean;
  /** How it may conflict with a reservation (SPC-4 table 62, SBC-3 table 13); `command()` defaults to Write. */
  readonly access: AccessClass;
  /** ALUA states besides the active ones in which it runs (SPC-4 5.15.2.4); `command()` defaults to active only. */
  readonly alua: AluaClass;
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
  access = AccessClass.Write,
): CommandDescriptor {
  return { opcode, serviceAction, name, usage: [opcode, ...usage], handler, timeoutSeconds, access, alua: AluaClass.ActiveOnly };
}

/** Runs in standby too (MODE SENSE/SELECT, PR IN/OUT, REPORT SUPPORTED OPERATION CODES). */
function inStandbyToo(c: CommandDescriptor): CommandDescriptor {
  return { ...c, alua: AluaClass.Standby };
}

/** Runs whatever the ALUA state, transitioning included (INQUIRY, REPORT LUNS, REQUEST SENSE, RTPG). */
function inAnyAluaState(c: CommandDescriptor): CommandDescriptor {
  return { ...c, alua: AluaClass.AnyState };
}

/** Allowed whatever the reservation (INQUIRY, TEST UNIT READY, READ CAPACITY ...). */
function anyReservation(c: CommandDescriptor): CommandDescriptor {
  return { ...c, access: AccessClass.Always };
}

/** Reads the medium: conflicts only with exclusive-access reservations. */
function readsMedium(c: CommandDescriptor): CommandDescriptor {
  return { ...c, access: AccessClass.Read };
}

/** PR IN/OUT, RESERVE, RELEASE: the handler applies the reservation rules itself. */
function reservationCommand(c: CommandDescriptor): CommandDescriptor {
  return { ...c, access: AccessClass.Reservation };
}

const PR_IN_USAGE = [0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0];
const prIn = (action: number, name: string, handler: CommandHandler): CommandDescriptor =>
  inStandbyToo(reservationCommand(command(Opcode.PersistentReserveIn, `PERSISTENT RESERVE IN (${name})`, PR_IN_USAGE, handler, 30, action)));
/** SCOPE and TYPE count as used only for the service actions that read them. */
const prOut = (action: number, name: string, scopeAndType: number): CommandDescriptor =>
  inStandbyToo(
    reservationCommand(
      command(Opcode.PersistentReserveOut, `PERSISTENT RESERVE OUT (${name})`, [0x1f, scopeAndType, 0, 0, ...FF4, 0], persistentReserveOut, 30, action),
    ),
  );

/** UNMAP and GET LBA STATUS exist only on LUs with logical block provisioning management (LBPME). */
function thinOnly(descriptor: CommandDescriptor): CommandDescriptor {
  return { ...descriptor, supportedBy: (lu) => lu.thinProvisioned };
}

/** Ascending by opcode then service action, the order REPORT SUPPORTED OPERATION CODES lists them. */
export const COMMANDS: readonly CommandDescriptor[] = [
  anyReservation(command(Opcode.TestUnitReady, 'TEST UNIT READY', [0, 0, 0, 0, 0], testUnitReady)),
  inAnyAluaState(anyReservation(command(Opcode.RequestSense, 'REQUEST SENSE', [0x01, 0, 0, 0xff, 0], requestSense))),
  readsMedium(command(Opcode.Read6, 'READ (6)', [0x1f, 0xff, 0xff, 0xff, 0], read6)),
  command(Opcode.Write6, 'WRITE (6)', [0x1f, 0xff, 0xff, 0xff, 0], write6),
  inAnyAluaState(anyReservation(command(Opcode.Inquiry, 'INQUIRY', [0x01, 0xff, 0xff, 0xff, 0], inquiry))),
  inStandbyToo(command(Opcode.ModeSelect6, 'MODE SELECT (6)', [0x11, 0, 0, 0xff, 0], modeSelect6)),
  reservationCommand(command(Opcode.Reserve6, 'RESERVE (6)', [0, 0, 0, 0, 0], reserve6)),
  reservationCommand(command(Opcode.Release6, 'RELEASE (6)', [0, 0, 0, 0, 0], release6)),
  inStandbyToo(command(Opcode.ModeSense6, 'MODE SENSE (6)', [0x08, 0xff, 0xff, 0xff, 0], modeSense6)),
  command(Opcode.StartStopUnit, 'START STOP UNIT', [0x01, 0, 0, 0xf7, 0], startStopUnit, 60),
  command(Opcode.PreventAllowMediumRemoval, 'PREVENT ALLOW MEDIUM REMOVAL', [0, 0, 0, 0x03, 0], preventAllowMediumRemoval),
  anyReservation(command(Opcode.ReadCapacity10, 'READ CAPACITY (10)', [0, ...FF4, 0, 0, 0x01, 0], readCapacity10)),
  readsMedium(command(Opcode.Read10, 'READ (10)', [RW_FLAGS, ...FF4, 0, 0xff, 0xff, 0], read10)),
  command(Opcode.Write10, 'WRITE (10)', [RW_FLAGS, ...FF4, 0, 0xff, 0xff, 0], write10),
  command(Opcode.WriteAndVerify10, 'WRITE AND VERIFY (10)', [VERIFY_FLAGS, ...FF4, 0, 0xff, 0xff, 0], writeAndVerify10),
  readsMedium(command(Opcode.Verify10, 'VERIFY (10)', [VERIFY_FLAGS, ...FF4, 0, 0xff, 0xff, 0], verify10)),
  readsMedium(command(Opcode.PreFetch10, 'PRE-FETCH (10)', [0x02, ...FF4, 0, 0xff, 0xff, 0], preFetch10)),
  command(Opcode.SynchronizeCache10, 'SYNCHRONIZE CACHE (10)', [0x02, ...FF4, 0, 0xff, 0xff, 0], synchronizeCache10, 60),
  command(Opcode.WriteSame10, 'WRITE SAME (10)', [0xf8, ...FF4, 0, 0xff, 0xff, 0], writeSame10, 60),
  thinOnly(command(Opcode.Unmap, 'UNMAP', [0x01, 0, 0, 0, 0, 0, 0xff, 0xff, 0], unmap, 60)),
  inStandbyToo(command(Opcode.ModeSelect10, 'MODE SELECT (10)', [0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0], modeSelect10)),
  reservationCommand(command(Opcode.Reserve10, 'RESERVE (10)', [0, 0, 0, 0, 0, 0, 0, 0, 0], reserve10)),
  reservationCommand(command(Opcode.Release10, 'RELEASE (10)', [0, 0, 0, 0, 0, 0, 0, 0, 0], release10)),
  inStandbyToo(command(Opcode.ModeSense10, 'MODE SENSE (10)', [0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0], modeSense10)),
  prIn(0x00, 'READ KEYS', readKeys),
  prIn(0x01, 'READ RESERVATION', readReservation),
  prIn(0x02, 'REPORT CAPABILITIES', reportCapabilities),
  prIn(0x03, 'READ FULL STATUS', readFullStatus),
  prOut(0x00, 'REGISTER', 0),
  prOut(0x01, 'RESERVE', 0xff),
  prOut(0x02, 'RELEASE', 0xff),
  prOut(0x03, 'CLEAR', 0),
  prOut(0x04, 'PREEMPT', 0xff),
  prOut(0x05, 'PREEMPT AND ABORT', 0xff),
  prOut(0x06, 'REGISTER AND IGNORE EXISTING KEY', 0),
  prOut(0x07, 'REGISTER AND MOVE', 0xff),
  // Third-party copy (thirdPartyCopy.ts): EXTENDED COPY (LID1) writes the destination; results only read state.
  command(Opcode.ExtendedCopy, 'EXTENDED COPY (LID1)', [0x1f, 0, 0, 0, 0, 0, 0, 0, 0, ...FF4, 0, 0], extendedCopy, 120, 0x00),
  readsMedium(command(Opcode.ReceiveCopyResults, 'RECEIVE COPY RESULTS (COPY STATUS)', [0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, ...FF4, 0, 0], copyStatus, 30, 0x00)),
  readsMedium(
    command(Opcode.ReceiveCopyResults, 'RECEIVE COPY RESULTS (OPERATING PARAMETERS)', [0x1f, 0, 0, 0, 0, 0, 0, 0, 0, ...FF4, 0, 0], copyOperatingParameters, 30, 0x03),
  ),
  readsMedium(command(Opcode.Read16, 'READ (16)', [RW_FLAGS, ...FF8, ...FF4, 0, 0], read16)),
  command(Opcode.CompareAndWrite, 'COMPARE AND WRITE', [0xf8, ...FF8, 0, 0, 0, 0xff, 0, 0], compareAndWrite),
  command(Opcode.Write16, 'WRITE (16)', [RW_FLAGS, ...FF8, ...FF4, 0, 0], write16),
  command(Opcode.WriteAndVerify16, 'WRITE AND VERIFY (16)', [VERIFY_FLAGS, ...FF8, ...FF4, 0, 0], writeAndVerify16),
  readsMedium(command(Opcode.Verify16, 'VERIFY (16)', [VERIFY_FLAGS, ...FF8, ...FF4, 0, 0], verify16)),
  readsMedium(command(Opcode.PreFetch16, 'PRE-FETCH (16)', [0x02, ...FF8, ...FF4, 0, 0], preFetch16)),
  command(Opcode.SynchronizeCache16, 'SYNCHRONIZE CACHE (16)', [0x02, ...FF8, ...FF4, 0, 0], synchronizeCache16, 60),
  command(Opcode.WriteSame16, 'WRITE SAME (16)', [0xf9, ...FF8, ...FF4, 0, 0], writeSame16, 60),
  command(
    Opcode.ServiceActionIn16,
    'READ CAPACITY (16)',
    [0x1f, 0, 0, 0, 0, 0, 0, 0, 0, ...FF4, 0, 0],
    readCapacity16,
    30,
    ServiceAction.ReadCapacity16,
    AccessClass.Always,
  ),
  thinOnly(
    command(Opcode.ServiceActionIn16, 'GET LBA STATUS', [0x1f, ...FF8, ...FF4, 0, 0], getLbaStatus, 30, ServiceAction.GetLbaStatus, AccessClass.Read),
  ),
  inAnyAluaState(anyReservation(command(Opcode.ReportLuns, 'REPORT LUNS', [0, 0xff, 0, 0, 0, ...FF4, 0, 0], null))),
  inAnyAluaState(
    command(
      Opcode.MaintenanceIn,
      'REPORT TARGET PORT GROUPS',
      [0xff, 0, 0, 0, 0, ...FF4, 0, 0],
      reportTargetPortGroups,
      30,
      ServiceAction.ReportTargetPortGroups,
      AccessClass.Always,
    ),
  ),
  inStandbyToo(
    command(
      Opcode.MaintenanceIn,
      'REPORT SUPPORTED OPERATION CODES',
      [0x1f, 0x87, 0xff, 0xff, 0xff, ...FF4, 0, 0],
      (lu, task) => reportSupportedOperationCodes(COMMANDS, lu, task),
      30,
      ServiceAction.ReportSupportedOperationCodes,
      AccessClass.Always,
    ),
  ),
  readsMedium(command(Opcode.Read12, 'READ (12)', [RW_FLAGS, ...FF4, ...FF4, 0, 0], read12)),
  command(Opcode.Write12, 'WRITE (12)', [RW_FLAGS, ...FF4, ...FF4, 0, 0], write12),
  command(Opcode.WriteAndVerify12, 'WRITE AND VERIFY (12)', [VERIFY_FLAGS, ...FF4, ...FF4, 0, 0], writeAndVerify12),
  readsMedium(command(Opcode.Verify12, 'VERIFY (12)', [VERIFY_FLAGS, ...FF4, ...FF4, 0, 0], verify12)),
];

export interface DispatchEntry {
  readonly handler: CommandHandler;
  readonly cdbLength: number;
  /** Reservation access class; for opcodes with service actions, `serviceActionAccess[byte 1 & 1Fh]`. */
  readonly access: AccessClass;
  readonly serviceActionAccess: readonly AccessClass[] | null;
  /** ALUA states it runs in; for opcodes with service actions, `serviceActionAlua[byte 1 & 1Fh]`. */
  readonly alua: AluaClass;
  readonly serviceActionAlua: readonly AluaClass[] | null;
}

/** Opcode-indexed handlers for the LU; opcodes with service actions dispatch on byte 1 themselves. */
export function buildDispatchTable(commands: readonly CommandDescriptor[]): (DispatchEntry | undefined)[] {
  const table: (DispatchEntry | undefined)[] = new Array(256).fill(undefined);
  const byServiceAction = new Map<number, Map<number, CommandHandler>>();
  for (const c of commands) {
    if (!c.handler) continue;
    const handler = c.supportedBy ? onlyWhereSupported(c, c.handler) : c.handler;
    if (c.serviceAction === undefined) {
      table[c.opcode] = { handler, cdbLength: c.usage.length, access: c.access, serviceActionAccess: null, alua: c.alua, serviceActionAlua: null };
      continue;
    }
    let actions = byServiceAction.get(c.opcode);
    if (!actions) byServiceAction.set(c.opcode, (actions = new Map()));
    actions.set(c.serviceAction, handler);
  }
  for (const [opcode, actions] of byServiceAction) {
    const serviceActionHandler: CommandHandler = (lu, task) => {
      const handler = actions.get(task.cdb[1] & 0x1f);
      // SPC-4: an unsupported service action is INVALID FIELD IN CDB pointing at the field.
      return handler ? handler(lu, task) : lu.invalidFieldInCdb(task, 1, 4);
    };
    // Unknown service actions pass the reservation and ALUA checks so that they fail as INVALID FIELD IN CDB.
    const access = new Array<AccessClass>(32).fill(AccessClass.Always);
    const alua = new Array<AluaClass>(32).fill(AluaClass.AnyState);
    for (const c of commands) {
      if (c.opcode !== opcode || c.serviceAction === undefined) continue;
      access[c.serviceAction] = c.access;
      alua[c.serviceAction] = c.alua;
    }
    table[opcode] = {
      handler: serviceActionHandler,
      cdbLength: cdbLengthOf(opcode),
      access: AccessClass.Write,
      serviceActionAccess: access,
      alua: AluaClass.ActiveOnly,
      serviceActionAlua: alua,
    };
  }
  return table;
}

/** On a LU that does not offer the command it is answered as if it did not exist at all. */
function onlyWhereSupported(c: CommandDescriptor, handler: CommandHandler): CommandHandler {
  const supportedBy = c.supportedBy!;
  if (c.serviceAction !== undefined) {
    return (lu, task) => (supportedBy(lu) ? handler(lu, task) : lu.invalidFieldInCdb(task, 1, 4));
  }
  return (lu, task) => (supportedBy(lu) ? handler(lu, task) : lu.fail(task, SenseKey.IllegalRequest, Asc.InvalidCommandOperationCode));
}
