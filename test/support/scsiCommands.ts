// CDBs and parameter lists the black-box SCSI tests send (SPC-4 / SBC-3 layouts).
import { Session, scsi } from '@tandem/testing';

export const PrType = { WriteExclusive: 1, ExclusiveAccess: 3, WriteExclusiveRegistrantsOnly: 5 } as const;

export function persistentReserveOut(serviceAction: number, type: number, key: bigint, saKey: bigint, aptpl = false): { cdb: Buffer; data: Buffer } {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5f;
  cdb[1] = serviceAction & 0x1f;
  cdb[2] = type & 0x0f; // scope 0: logical unit
  cdb.writeUInt32BE(24, 5);
  const data = Buffer.alloc(24);
  data.writeBigUInt64BE(key, 0);
  data.writeBigUInt64BE(saKey, 8);
  if (aptpl) data[20] = 0x01;
  return { cdb, data };
}

export function persistentReserveIn(serviceAction: number, allocation = 1024): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5e;
  cdb[1] = serviceAction & 0x1f;
  cdb.writeUInt16BE(allocation, 7);
  return cdb;
}

export function compareAndWrite(lba: number, blocks: number): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x89;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb[13] = blocks;
  return cdb;
}

/** Sends TEST UNIT READY until the unit attentions a new nexus collects (POWER ON, …) are consumed. */
export async function clearUnitAttentions(s: Session, lun: number): Promise<void> {
  for (let i = 0; i < 6; i++) {
    const r = await scsi(s, lun, Buffer.alloc(6));
    if (r.status === 0) return;
    if (r.status !== 2 || ((r.sense?.[2] ?? 0) & 0x0f) !== 0x06) throw new Error(`TEST UNIT READY: status ${r.status}`);
  }
  throw new Error(`LUN ${lun} kept reporting unit attentions`);
}

/** READ KEYS → the registered keys. */
export async function readKeys(s: Session, lun: number): Promise<bigint[]> {
  const r = await scsi(s, lun, persistentReserveIn(0), { readLength: 1024 });
  if (r.status !== 0) throw new Error(`READ KEYS: status ${r.status}`);
  const len = r.data.readUInt32BE(4);
  const keys: bigint[] = [];
  for (let o = 8; o < 8 + len; o += 8) keys.push(r.data.readBigUInt64BE(o));
  return keys;
}

/** READ RESERVATION → the holder's key and type, or null. */
export async function readReservation(s: Session, lun: number): Promise<{ key: bigint; type: number } | null> {
  const r = await scsi(s, lun, persistentReserveIn(1), { readLength: 1024 });
  if (r.status !== 0) throw new Error(`READ RESERVATION: status ${r.status}`);
  if (r.data.readUInt32BE(4) === 0) return null;
  return { key: r.data.readBigUInt64BE(8), type: r.data[21] & 0x0f };
}
