/** REPORT SUPPORTED OPERATION CODES (SPC-4 6.35), a MAINTENANCE IN service action. */
import type { CommandDescriptor } from './commands';
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { ScsiTask } from './task';

const enum ReportingOptions {
  All = 0,
  OneCommand = 1,
  OneCommandWithServiceAction = 2,
  /** SPC-4 r37: opcode plus service action when the opcode has service actions, else the opcode. */
  OneCommandEitherWay = 3,
}

const enum Support {
  NotSupported = 0x01,
  Supported = 0x03,
}

const TIMEOUTS_DESCRIPTOR_LENGTH = 12;

export function reportSupportedOperationCodes(all: readonly CommandDescriptor[], lu: LogicalUnit, task: ScsiTask): void {
  // Commands this LU does not offer (UNMAP on a thick LU ...) are not reported.
  const commands = all.some((c) => c.supportedBy) ? all.filter((c) => !c.supportedBy || c.supportedBy(lu)) : all;
  const cdb = task.cdb;
  const withTimeouts = (cdb[2] & 0x80) !== 0;
  const options = cdb[2] & 0x07;
  const opcode = cdb[3];
  const serviceAction = cdb.readUInt16BE(4);
  const allocationLength = cdb.readUInt32BE(6);
  const hasServiceActions = commands.some((c) => c.opcode === opcode && c.serviceAction !== undefined);

  switch (options) {
    case ReportingOptions.All:
      return returnData(task, allCommands(commands, withTimeouts), allocationLength);
    case ReportingOptions.OneCommand:
      if (hasServiceActions) return lu.invalidFieldInCdb(task, 3);
      return returnData(task, oneCommand(commands.find((c) => c.opcode === opcode), withTimeouts), allocationLength);
    case ReportingOptions.OneCommandWithServiceAction:
      if (!hasServiceActions) return lu.invalidFieldInCdb(task, 3);
      return returnData(task, oneCommand(findServiceAction(commands, opcode, serviceAction), withTimeouts), allocationLength);
    case ReportingOptions.OneCommandEitherWay: {
      const found = hasServiceActions
        ? findServiceAction(commands, opcode, serviceAction)
        : commands.find((c) => c.opcode === opcode);
      return returnData(task, oneCommand(found, withTimeouts), allocationLength);
    }
    default:
      return lu.invalidFieldInCdb(task, 2, 2);
  }
}

function findServiceAction(commands: readonly CommandDescriptor[], opcode: number, serviceAction: number): CommandDescriptor | undefined {
  return commands.find((c) => c.opcode === opcode && c.serviceAction === serviceAction);
}

function allCommands(commands: readonly CommandDescriptor[], withTimeouts: boolean): Buffer {
  const descriptorLength = 8 + (withTimeouts ? TIMEOUTS_DESCRIPTOR_LENGTH : 0);
  const data = Buffer.alloc(4 + commands.length * descriptorLength);
  data.writeUInt32BE(commands.length * descriptorLength, 0);
  let at = 4;
  for (const c of commands) {
    data[at] = c.opcode;
    data.writeUInt16BE(c.serviceAction ?? 0, at + 2);
    data[at + 5] = (withTimeouts ? 0x02 : 0) | (c.serviceAction !== undefined ? 0x01 : 0); // CTDP, SERVACTV
    data.writeUInt16BE(c.usage.length, at + 6);
    at += 8;
    if (withTimeouts) at = writeTimeouts(data, at, c);
  }
  return data;
}

function oneCommand(c: CommandDescriptor | undefined, withTimeouts: boolean): Buffer {
  if (!c) {
    const data = Buffer.alloc(4);
    data[1] = Support.NotSupported;
    return data;
  }
  const data = Buffer.alloc(4 + c.usage.length + (withTimeouts ? TIMEOUTS_DESCRIPTOR_LENGTH : 0));
  data[1] = (withTimeouts ? 0x80 : 0) | Support.Supported;
  data.writeUInt16BE(c.usage.length, 2);
  Buffer.from(c.usage).copy(data, 4);
  if (withTimeouts) writeTimeouts(data, 4 + c.usage.length, c);
  return data;
}

/** Command timeouts descriptor (SPC-4 6.35.4): nominal processing time not given, recommended timeout. */
function writeTimeouts(data: Buffer, at: number, c: CommandDescriptor): number {
  data.writeUInt16BE(TIMEOUTS_DESCRIPTOR_LENGTH - 2, at);
  data.writeUInt32BE(0, at + 4);
  data.writeUInt32BE(c.timeoutSeconds, at + 8);
  return at + TIMEOUTS_DESCRIPTOR_LENGTH;
}
