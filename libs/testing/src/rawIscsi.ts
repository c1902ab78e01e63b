// A deliberately small, independent iSCSI initiator (RFC 7143) for tests: builds 48-byte BHS PDUs byte by byte,
// logs in, runs one SCSI command at a time, and checks digests. It shares no code with libs/iscsi on purpose.
import * as net from 'net';
import { crc32c } from '@node-rs/crc32';

export const BHS = 48;

export const Op = {
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskMgmt: 0x02,
  LoginRequest: 0x03,
  TextRequest: 0x04,
  DataOut: 0x05,
  LogoutRequest: 0x06,
  Snack: 0x10,
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskMgmtResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  DataIn: 0x25,
  LogoutResponse: 0x26,
  R2T: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;

export interface BhsFields {
  opcode: number;
  immediate?: boolean;
  /** byte 1 as a whole (F bit and opcode-specific flags). */
  flags?: number;
  /** bytes 2..3 */
  b2?: number;
  b3?: number;
  totalAhsLength?: number;
  /** Overrides the DataSegmentLength field (default: data length) — for lying about lengths. */
  dataSegmentLength?: number;
  /** bytes 8..15 (LUN or ISID+TSIH). */
  lunOrIsid?: Buffer;
  itt?: number;
  /** bytes 20..47 written as 7 big-endian words. */
  words?: Array<number | undefined>;
  /** CDB for SCSI commands, bytes 32..47 (overrides words 3..6). */
  cdb?: Buffer;
}

export interface Digests {
  header: boolean;
  data: boolean;
}

export const NO_DIGESTS: Digests = { header: false, data: false };

export function crc32cLE(buf: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(crc32c(buf) >>> 0, 0);
  return out;
}

export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export function buildBhs(f: BhsFields): Buffer {
  const h = Buffer.alloc(BHS);
  h[0] = (f.immediate ? 0x40 : 0) | (f.opcode & 0x3f);
  h[1] = f.flags ?? 0x80;
  h[2] = f.b2 ?? 0;
  h[3] = f.b3 ?? 0;
  h[4] = f.totalAhsLength ?? 0;
  h.writeUIntBE((f.dataSegmentLength ?? 0) & 0xffffff, 5, 3);
  if (f.lunOrIsid) f.lunOrIsid.copy(h, 8, 0, 8);
  h.writeUInt32BE((f.itt ?? 0) >>> 0, 16);
  (f.words ?? []).forEach((w, i) => {
    if (w !== undefined) h.writeUInt32BE(w >>> 0, 20 + i * 4);
  });
  if (f.cdb) f.cdb.copy(h, 32, 0, Math.min(16, f.cdb.length));
  return h;
}

/** BHS (+AHS) + optional header digest + data + padding + optional data digest. */
export function buildPdu(f: BhsFields, data: Buffer = Buffer.alloc(0), digests: Digests = NO_DIGESTS, ahs?: Buffer): Buffer {
  const bhs = buildBhs({ ...f, dataSegmentLength: f.dataSegmentLength ?? data.length, totalAhsLength: f.totalAhsLength ?? (ahs ? ahs.length / 4 : 0) });
  const header = ahs ? Buffer.concat([bhs, ahs]) : bhs;
  const parts = [header];
  if (digests.header) parts.push(crc32cLE(header));
  if (data.length) {
    const padded = Buffer.concat([data, Buffer.alloc(pad4(data.length))]);
    parts.push(padded);
    if (digests.data) parts.push(crc32cLE(padded));
  }
  return Buffer.concat(parts);
}

export function textData(keys: Record<string, string>): Buffer {
  return Buffer.from(Object.entries(keys).map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}

export function parseText(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of data.toString('utf8').split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function lunField(lun: number): Buffer {
  const b = Buffer.alloc(8);
  if (lun < 256) b[1] = lun;
  else b.writeUInt16BE(0x4000 | lun, 0);
  return b;
}

export function isidField(isid: Buffer, tsih = 0): Buffer {
  const b = Buffer.alloc(8);
  isid.copy(b, 0, 0, 6);
  b.writeUInt16BE(tsih, 6);
  return b;
}

export interface ParsedPdu {
  opcode: number;
  flags: number;
  bhs: Buffer;
  data: Buffer;
  itt: number;
  headerDigestOk: boolean;
  dataDigestOk: boolean;
}

/** Login request builder: CSG/NSG per RFC 7143 §11.12 (0 security, 1 operational, 3 full feature). */
export function loginPdu(o: { transit: boolean; csg: number; nsg: number; isid: Buffer; tsih?: number; itt: number; cid?: number; cmdSN: number; expStatSN: number; keys: Record<string, string> | Buffer }): Buffer {
  const flags = (o.transit ? 0x80 : 0) | ((o.csg & 3) << 2) | (o.nsg & 3);
  const data = Buffer.isBuffer(o.keys) ? o.keys : textData(o.keys);
  return buildPdu({ opcode: Op.LoginRequest, immediate: true, flags, lunOrIsid: isidField(o.isid, o.tsih ?? 0), itt: o.itt, words: [((o.cid ?? 0) << 16) >>> 0, o.cmdSN, o.expStatSN] }, data);
}

export function scsiCommandPdu(o: { lun: number; itt: number; cmdSN: number; expStatSN: number; cdb: Buffer; read?: boolean; write?: boolean; expectedLength: number; immediateData?: Buffer; final?: boolean }, digests: Digests = NO_DIGESTS): Buffer {
  const flags = (o.final === false ? 0 : 0x80) | (o.read ? 0x40 : 0) | (o.write ? 0x20 : 0) | 0x01;
  return buildPdu({ opcode: Op.ScsiCommand, flags, lunOrIsid: lunField(o.lun), itt: o.itt, words: [o.expectedLength, o.cmdSN, o.expStatSN], cdb: o.cdb }, o.immediateData ?? Buffer.alloc(0), digests);
}

export function dataOutPdu(o: { lun: number; itt: number; ttt: number; expStatSN: number; dataSN: number; offset: number; final: boolean; data: Buffer }, digests: Digests = NO_DIGESTS): Buffer {
  return buildPdu({ opcode: Op.DataOut, flags: o.final ? 0x80 : 0, lunOrIsid: lunField(o.lun), itt: o.itt, words: [o.ttt, 0, o.expStatSN, 0, o.dataSN, o.offset, 0] }, o.data, digests);
}

export function nopOutPdu(o: { itt: number; cmdSN: number; expStatSN: number; data?: Buffer; immediate?: boolean }, digests: Digests = NO_DIGESTS): Buffer {
  return buildPdu({ opcode: Op.NopOut, immediate: o.immediate ?? true, flags: 0x80, itt: o.itt, words: [0xffffffff, o.cmdSN, o.expStatSN] }, o.data ?? Buffer.alloc(0), digests);
}

/** Connection with a PDU reader. Never waits without a deadline. */
export class RawConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  error: Error | undefined;
  bytesReceived = 0;
  digests: Digests = NO_DIGESTS;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.bytesReceived += d.length;
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, d]) : d;
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(host: string, port: number, timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private waitForChange(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), left);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Resolves false if the write failed because the peer closed. */
  send(buf: Buffer): Promise<boolean> {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.socket.write(buf, (err) => resolve(!err));
    });
  }

  /** Next PDU, or 'closed' / 'timeout'. */
  async readPdu(timeoutMs: number): Promise<ParsedPdu | 'closed' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pdu = this.tryParse();
      if (pdu) return pdu;
      if (this.closed) return 'closed';
      if (!(await this.waitForChange(deadline))) return this.closed ? 'closed' : 'timeout';
    }
  }

  private tryParse(): ParsedPdu | undefined {
    const b = this.buffered;
    if (b.length < BHS) return undefined;
    const ahs = b[4] * 4;
    const dsl = b.readUIntBE(5, 3);
    const hd = this.digests.header ? 4 : 0;
    const dd = this.digests.data && dsl > 0 ? 4 : 0;
    const total = BHS + ahs + hd + dsl + pad4(dsl) + dd;
    if (b.length < total) return undefined;
    const header = b.subarray(0, BHS + ahs);
    const dataStart = BHS + ahs + hd;
    const padded = b.subarray(dataStart, dataStart + dsl + pad4(dsl));
    const pdu: ParsedPdu = {
      opcode: b[0] & 0x3f,
      flags: b[1],
      bhs: Buffer.from(b.subarray(0, BHS)),
      data: Buffer.from(padded.subarray(0, dsl)),
      itt: b.readUInt32BE(16),
      headerDigestOk: !hd || crc32cLE(header).equals(b.subarray(BHS + ahs, BHS + ahs + 4)),
      dataDigestOk: !dd || crc32cLE(padded).equals(b.subarray(dataStart + padded.length, dataStart + padded.length + 4)),
    };
    this.buffered = b.subarray(total);
    return pdu;
  }

  /** Half-close, then wait until the peer closes too; false if it is still open at the deadline. */
  async finishAndWaitClose(timeoutMs: number): Promise<boolean> {
    if (!this.closed) this.socket.end();
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      this.buffered = Buffer.alloc(0);
      if (!(await this.waitForChange(deadline))) break;
    }
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface Session {
  conn: RawConnection;
  cmdSN: number;
  expStatSN: number;
  itt: number;
  negotiated: Record<string, string>;
  /** Largest data segment the target accepts from us. */
  maxSendDataSegment: number;
}

export interface LoginOptions {
  initiatorName?: string;
  targetName?: string;
  sessionType?: 'Normal' | 'Discovery';
  headerDigest?: 'None' | 'CRC32C';
  dataDigest?: 'None' | 'CRC32C';
  isid?: Buffer;
  timeoutMs?: number;
}

export class LoginFailed extends Error {
  constructor(message: string, readonly statusClass?: number, readonly statusDetail?: number) {
    super(message);
  }
}

/** Security stage (AuthMethod=None) then operational stage, to full feature phase. */
export async function login(conn: RawConnection, o: LoginOptions): Promise<Session> {
  const timeout = o.timeoutMs ?? 5000;
  const isid = o.isid ?? Buffer.from([0x80, 0x12, 0x34, 0x56, 0x78, Math.floor(Math.random() * 256)]);
  let cmdSN = 1;
  let expStatSN = 0;
  const itt = 1;
  const security: Record<string, string> = {
    InitiatorName: o.initiatorName ?? 'iqn.2026-11.io.tandem:test-initiator',
    SessionType: o.sessionType ?? 'Normal',
    AuthMethod: 'None',
  };
  if ((o.sessionType ?? 'Normal') === 'Normal') security.TargetName = o.targetName ?? '';
  const operational: Record<string, string> = {
    HeaderDigest: o.headerDigest ?? 'None',
    DataDigest: o.dataDigest ?? 'None',
    MaxRecvDataSegmentLength: '262144',
    ErrorRecoveryLevel: '0',
    ...((o.sessionType ?? 'Normal') === 'Normal'
      ? { InitialR2T: 'Yes', ImmediateData: 'Yes', MaxBurstLength: '262144', FirstBurstLength: '65536', MaxOutstandingR2T: '1', DataPDUInOrder: 'Yes', DataSequenceInOrder: 'Yes', MaxConnections: '1', DefaultTime2Wait: '0', DefaultTime2Retain: '0', IFMarker: 'No', OFMarker: 'No' }
      : {}),
  };
  const negotiated: Record<string, string> = {};
  let stage = 0;
  let tsih = 0;
  for (let round = 0; round < 8; round++) {
    const keys = stage === 0 ? security : round > 1 && stage === 1 ? {} : operational;
    const nsg = stage === 0 ? 1 : 3;
    await conn.send(loginPdu({ transit: true, csg: stage, nsg, isid, tsih, itt, cmdSN, expStatSN, keys }));
    const r = await conn.readPdu(timeout);
    if (r === 'closed' || r === 'timeout') throw new LoginFailed(`login: connection ${r}`);
    if (r.opcode !== Op.LoginResponse) throw new LoginFailed(`login: unexpected opcode 0x${r.opcode.toString(16)}`);
    const statusClass = r.bhs[36];
    const statusDetail = r.bhs[37];
    if (statusClass !== 0) throw new LoginFailed(`login rejected: class ${statusClass} detail ${statusDetail}`, statusClass, statusDetail);
    Object.assign(negotiated, parseText(r.data));
    expStatSN = r.bhs.readUInt32BE(24) + 1;
    tsih = r.bhs.readUInt16BE(14);
    const transit = (r.flags & 0x80) !== 0;
    const rnsg = r.flags & 3;
    if (transit && rnsg === 3) {
      conn.digests = { header: negotiated.HeaderDigest === 'CRC32C', data: negotiated.DataDigest === 'CRC32C' };
      return { conn, cmdSN: r.bhs.readUInt32BE(28), expStatSN, itt: 0x100, negotiated, maxSendDataSegment: Number(negotiated.MaxRecvDataSegmentLength ?? 8192) };
    }
    if (transit && rnsg === 1) stage = 1;
  }
  throw new LoginFailed('login did not reach full feature phase in 8 rounds');
}

export interface ScsiResult {
  status: number;
  response: number;
  data: Buffer;
  sense?: Buffer;
  digestErrors: number;
}

/** One SCSI command to completion (handles Data-In, R2T/Data-Out, immediate data). */
export async function scsi(s: Session, lun: number, cdb: Buffer, o: { readLength?: number; writeData?: Buffer; timeoutMs?: number } = {}): Promise<ScsiResult> {
  const timeout = o.timeoutMs ?? 10000;
  const itt = s.itt++;
  const write = o.writeData;
  const immediateOk = s.negotiated.ImmediateData !== 'No';
  const firstBurst = Number(s.negotiated.FirstBurstLength ?? 65536);
  const immediate = write && immediateOk ? write.subarray(0, Math.min(write.length, firstBurst, s.maxSendDataSegment)) : undefined;
  const cmdSN = s.cmdSN++;
  await s.conn.send(scsiCommandPdu({ lun, itt, cmdSN, expStatSN: s.expStatSN, cdb, read: !!o.readLength, write: !!write, expectedLength: o.readLength ?? write?.length ?? 0, immediateData: immediate }, s.conn.digests));
  const chunks: Buffer[] = [];
  let digestErrors = 0;
  const deadline = Date.now() + timeout;
  for (;;) {
    const r = await s.conn.readPdu(Math.max(1, deadline - Date.now()));
    if (r === 'closed' || r === 'timeout') throw new Error(`SCSI 0x${cdb[0].toString(16)}: connection ${r}`);
    if (!r.headerDigestOk || !r.dataDigestOk) digestErrors++;
    if (r.opcode === Op.DataIn) {
      chunks.push(r.data);
      if (r.flags & 0x01) {
        s.expStatSN = r.bhs.readUInt32BE(24) + 1;
        return { status: r.bhs[3], response: 0, data: Buffer.concat(chunks), digestErrors };
      }
    } else if (r.opcode === Op.R2T && write) {
      const ttt = r.bhs.readUInt32BE(20);
      const offset = r.bhs.readUInt32BE(40);
      const length = r.bhs.readUInt32BE(44);
      let sent = 0;
      let dataSN = 0;
      while (sent < length) {
        const n = Math.min(length - sent, s.maxSendDataSegment);
        await s.conn.send(dataOutPdu({ lun, itt, ttt, expStatSN: s.expStatSN, dataSN: dataSN++, offset: offset + sent, final: sent + n >= length, data: write.subarray(offset + sent, offset + sent + n) }, s.conn.digests));
        sent += n;
      }
    } else if (r.opcode === Op.ScsiResponse) {
      s.expStatSN = r.bhs.readUInt32BE(24) + 1;
      const sense = r.data.length >= 2 ? r.data.subarray(2, 2 + r.data.readUInt16BE(0)) : undefined;
      return { status: r.bhs[3], response: r.bhs[2], data: Buffer.concat(chunks), sense, digestErrors };
    } else if (r.opcode === Op.Reject) {
      throw new Error(`SCSI 0x${cdb[0].toString(16)}: Reject reason 0x${r.bhs[2].toString(16)}`);
    }
  }
}

export function read10(lba: number, blocks: number): Buffer {
  const c = Buffer.alloc(10);
  c[0] = 0x28;
  c.writeUInt32BE(lba, 2);
  c.writeUInt16BE(blocks, 7);
  return c;
}

export function write10(lba: number, blocks: number): Buffer {
  const c = Buffer.alloc(10);
  c[0] = 0x2a;
  c.writeUInt32BE(lba, 2);
  c.writeUInt16BE(blocks, 7);
  return c;
}

export function readCapacity10(): Buffer {
  const c = Buffer.alloc(10);
  c[0] = 0x25;
  return c;
}

export async function logout(s: Session, timeoutMs = 3000): Promise<void> {
  await s.conn.send(buildPdu({ opcode: Op.LogoutRequest, immediate: true, flags: 0x80, itt: s.itt++, words: [0, s.cmdSN, s.expStatSN] }, Buffer.alloc(0), s.conn.digests));
  await s.conn.readPdu(timeoutMs);
}
