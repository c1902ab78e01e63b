/** CDBs the initiator sends (SBC-3 / SPC-4). LBAs are numbers: exact up to 2^53 blocks. */

export const OperationCode = {
  TestUnitReady: 0x00,
  Inquiry: 0x12,
  Read16: 0x88,
  Write16: 0x8a,
  SynchronizeCache16: 0x91,
  ServiceActionIn16: 0x9e,
  ReportLuns: 0xa0,
  MaintenanceIn: 0xa3,
} as const;

const READ_CAPACITY_16 = 0x10;
const REPORT_TARGET_PORT_GROUPS = 0x0a;
const FUA = 0x08;

function putLba64(cdb: Buffer, at: number, lba: number): void {
  cdb.writeUInt32BE(Math.floor(lba / 0x100000000), at);
  cdb.writeUInt32BE(lba >>> 0, at + 4);
}

export function read16(lba: number, blocks: number, cdb: Buffer = Buffer.allocUnsafe(16)): Buffer {
  cdb.fill(0, 0, 16);
  cdb[0] = OperationCode.Read16;
  putLba64(cdb, 2, lba);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

export function write16(lba: number, blocks: number, fua = false, cdb: Buffer = Buffer.allocUnsafe(16)): Buffer {
  cdb.fill(0, 0, 16);
  cdb[0] = OperationCode.Write16;
  if (fua) cdb[1] = FUA;
  putLba64(cdb, 2, lba);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

/** SYNCHRONIZE CACHE (16) of [lba, lba + blocks); 0 blocks means to the end of the medium. */
export function synchronizeCache16(lba = 0, blocks = 0): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = OperationCode.SynchronizeCache16;
  putLba64(cdb, 2, lba);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

export function inquiry(evpd = false, page = 0, allocationLength = 255): Buffer {
  const cdb = Buffer.alloc(6);
  cdb[0] = OperationCode.Inquiry;
  cdb[1] = evpd ? 1 : 0;
  cdb[2] = evpd ? page : 0;
  cdb.writeUInt16BE(allocationLength, 3);
  return cdb;
}

export function readCapacity16(allocationLength = 32): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = OperationCode.ServiceActionIn16;
  cdb[1] = READ_CAPACITY_16;
  cdb.writeUInt32BE(allocationLength, 10);
  return cdb;
}

/** REPORT TARGET PORT GROUPS, extended header format (SPC-4 6.36). */
export function reportTargetPortGroups(allocationLength = 4096): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = OperationCode.MaintenanceIn;
  cdb[1] = 0x20 | REPORT_TARGET_PORT_GROUPS;
  cdb.writeUInt32BE(allocationLength, 6);
  return cdb;
}

export function testUnitReady(): Buffer {
  return Buffer.alloc(6);
}

export function reportLuns(allocationLength = 4096): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = OperationCode.ReportLuns;
  cdb.writeUInt32BE(allocationLength, 6);
  return cdb;
}

/** A short name of the command for error messages ("READ(16)"). */
export function operationName(cdb: Buffer): string {
  switch (cdb[0]) {
    case OperationCode.TestUnitReady: return 'TEST UNIT READY';
    case OperationCode.Inquiry: return 'INQUIRY';
    case OperationCode.Read16: return 'READ(16)';
    case OperationCode.Write16: return 'WRITE(16)';
    case OperationCode.SynchronizeCache16: return 'SYNCHRONIZE CACHE(16)';
    case OperationCode.ServiceActionIn16: return (cdb[1] & 0x1f) === READ_CAPACITY_16 ? 'READ CAPACITY(16)' : 'SERVICE ACTION IN(16)';
    case OperationCode.ReportLuns: return 'REPORT LUNS';
    case OperationCode.MaintenanceIn: return (cdb[1] & 0x1f) === REPORT_TARGET_PORT_GROUPS ? 'REPORT TARGET PORT GROUPS' : 'MAINTENANCE IN';
    default: return `SCSI opcode 0x${cdb[0].toString(16).padStart(2, '0')}`;
  }
}
