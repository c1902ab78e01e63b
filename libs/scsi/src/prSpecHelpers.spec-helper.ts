/** Builders for PERSISTENT RESERVE IN/OUT commands, shared by the PR specs. */
import { ItNexus } from './task';

export interface PrOutFields {
  type?: number;
  scope?: number;
  key?: bigint;
  sark?: bigint;
  specIPT?: boolean;
  allTgPt?: boolean;
  aptpl?: boolean;
  /** Encoded TransportIDs (SPEC_I_PT). */
  transportIds?: Buffer[];
  /** Overrides the PARAMETER LIST LENGTH in the CDB. */
  listLength?: number;
}

export function prOut(action: number, f: PrOutFields = {}): { cdb: number[]; dataOut: Buffer } {
  const tids = f.transportIds ?? [];
  const tidBytes = Buffer.concat(tids);
  const list = Buffer.alloc(24 + (f.specIPT ? 4 + tidBytes.length : 0));
  list.writeBigUInt64BE(f.key ?? 0n, 0);
  list.writeBigUInt64BE(f.sark ?? 0n, 8);
  list[20] = (f.specIPT ? 0x08 : 0) | (f.allTgPt ? 0x04 : 0) | (f.aptpl ? 0x01 : 0);
  if (f.specIPT) {
    list.writeUInt32BE(tidBytes.length, 24);
    tidBytes.copy(list, 28);
  }
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5f;
  cdb[1] = action;
  cdb[2] = ((f.scope ?? 0) << 4) | (f.type ?? 0);
  cdb.writeUInt32BE(f.listLength ?? list.length, 5);
  return { cdb: [...cdb], dataOut: list };
}

export function registerAndMove(
  f: { key: bigint; sark: bigint; type: number; unreg?: boolean; aptpl?: boolean; rtpi: number },
  transportId: Buffer,
): { cdb: number[]; dataOut: Buffer } {
  const list = Buffer.alloc(24 + transportId.length);
  list.writeBigUInt64BE(f.key, 0);
  list.writeBigUInt64BE(f.sark, 8);
  list[17] = (f.unreg ? 0x02 : 0) | (f.aptpl ? 0x01 : 0);
  list.writeUInt16BE(f.rtpi, 18);
  list.writeUInt32BE(transportId.length, 20);
  transportId.copy(list, 24);
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5f;
  cdb[1] = 0x07;
  cdb[2] = f.type;
  cdb.writeUInt32BE(list.length, 5);
  return { cdb: [...cdb], dataOut: list };
}

export function prIn(action: number, allocationLength = 8192): number[] {
  return [0x5e, action, 0, 0, 0, 0, 0, (allocationLength >> 8) & 0xff, allocationLength & 0xff, 0];
}

/** iSCSI TransportID, format 01b (with ISID) or 00b. */
export function iscsiTransportId(name: string, isid?: string): Buffer {
  const text = isid === undefined ? name : `${name},i,0x${isid}`;
  const length = Math.max(20, Math.ceil((text.length + 1) / 4) * 4);
  const id = Buffer.alloc(4 + length);
  id[0] = ((isid === undefined ? 0 : 1) << 6) | 0x05;
  id.writeUInt16BE(length, 2);
  id.write(text, 4, 'ascii');
  return id;
}

export function isidOf(nexus: ItNexus): string {
  return nexus.initiatorPortName.split(',i,0x')[1];
}
