/**
 * One iSCSI session over one TCP connection (RFC 7143, ErrorRecoveryLevel 0, MaxConnections 1): login with
 * AuthMethod=None or CHAP (one-way or mutual) and operational negotiation, then the full feature phase with many
 * commands outstanding inside the target's CmdSN window — immediate data, unsolicited and R2T-driven Data-Out,
 * Data-In straight into the caller's buffer with phase-collapsed status or a SCSI Response — NOP-In answered,
 * keepalive pings, command timeouts, logout. Any failure of the connection fails every command on it with a
 * PathFailedError: at ERL 0 nothing on a broken connection can be recovered, only re-issued elsewhere.
 */
import { EventEmitter } from 'events';
import * as net from 'net';
import { connectWithReadBuffer } from '@tandem/storage';
import { createHash, randomBytes, timingSafeEqual } from 'crypto';
import {
  DataDestination, FINAL_BIT, IMMEDIATE_BIT, Opcode, PduFramingError, PduReader, PduSink, RESERVED_TAG, TextPairs,
  decodeChapBinary, encodeTextPairs, parseTextPairs, snAdd, snLessThan,
} from '@tandem/iscsi';
import { operationName } from './cdb';
import type { ChapSecrets, DigestOffer } from './iscsiUrl';
import { PduWriter } from './pduWriter';
import { SenseData, decodeSense } from './sense';

export interface SessionOptions {
  host: string;
  port: number;
  targetName: string;
  initiatorName?: string;
  initiatorAlias?: string;
  /** 6 bytes; default random (type 10b). Keep it across reconnects so the target reinstates the old session. */
  isid?: Buffer;
  chap?: ChapSecrets;
  headerDigest?: DigestOffer;
  dataDigest?: DigestOffer;
  /** Largest data segment we accept (declared to the target). */
  maxRecvDataSegmentLength?: number;
  maxBurstLength?: number;
  firstBurstLength?: number;
  initialR2T?: boolean;
  immediateData?: boolean;
  maxOutstandingR2T?: number;
  connectTimeoutMs?: number;
  loginTimeoutMs?: number;
  /** A command outstanding longer than this fails the connection (0: never). */
  commandTimeoutMs?: number;
  /** Ping an idle target after this long without a PDU from it (0: never). */
  nopIntervalMs?: number;
  /** A ping unanswered this long fails the connection. */
  nopTimeoutMs?: number;
  localAddress?: string;
}

export const DEFAULT_INITIATOR_NAME = 'iqn.2026-11.io.tandem:initiator';

const DEFAULTS = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 1048576,
  firstBurstLength: 262144,
  initialR2T: false,
  immediateData: true,
  maxOutstandingR2T: 4,
  connectTimeoutMs: 5000,
  loginTimeoutMs: 10000,
  commandTimeoutMs: 30000,
  nopIntervalMs: 5000,
  nopTimeoutMs: 5000,
};

/** The session's parameters after login: RFC 7143 defaults for anything the target did not answer. */
export interface NegotiatedParameters {
  headerDigest: boolean;
  dataDigest: boolean;
  /** Largest data segment we accept. */
  maxRecvDataSegmentLength: number;
  /** Largest data segment the target accepts (its MaxRecvDataSegmentLength). */
  maxXmitDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxOutstandingR2T: number;
  targetPortalGroupTag?: number;
  targetAlias?: string;
  tsih: number;
}

export interface CommandOptions {
  /** Data-Out: the command writes these bytes (expected length = its length). */
  dataOut?: Buffer;
  /** Data-In: the command reads up to this many bytes. */
  readLength?: number;
  /** Data-In lands here (at least readLength bytes) instead of a new buffer. */
  readInto?: Buffer;
}

export interface ScsiResult {
  status: number;
  sense: SenseData | null;
  /** The Data-In received (empty for commands without Data-In). */
  data: Buffer;
  /** Residual count: positive for underflow (less than expected), negative for overflow. */
  residual: number;
}

/** The connection under a command failed: it may or may not have executed. Re-issue it elsewhere. */
export class PathFailedError extends Error {
  readonly retryable = true;
}

/** Login refused or impossible (status class/detail from the target when it answered). */
export class LoginError extends Error {
  constructor(message: string, readonly statusClass = -1, readonly statusDetail = -1) {
    super(message);
  }
  /** Authentication and authorization failures, and the like, will not cure themselves by retrying soon. */
  get permanent(): boolean {
    return this.statusClass === 2;
  }
}

/** The target rejected the command PDU itself (iSCSI Reject). */
export class CommandRejectedError extends Error {
  readonly retryable = false;
  constructor(message: string, readonly reason: number) {
    super(message);
  }
}

export type SessionPhase = 'connecting' | 'login' | 'full-feature' | 'logout' | 'closed';

const EMPTY: Buffer = Buffer.alloc(0);
const TASK_ATTRIBUTE_SIMPLE = 1;
const DATA_IN_STATUS = 0x01;
const RESIDUAL_OVERFLOW = 0x04;
const RESIDUAL_UNDERFLOW = 0x02;
const SWEEP_MS = 250;
const COMMAND_POOL_LIMIT = 1024;

const CHAP_HASHES: Record<string, { hash: string; challengeBytes: number }> = {
  '5': { hash: 'md5', challengeBytes: 16 },
  '6': { hash: 'sha1', challengeBytes: 20 },
  '7': { hash: 'sha256', challengeBytes: 32 },
  '8': { hash: 'sha3-256', challengeBytes: 32 },
};

/** A command on its way: pooled, so steady-state I/O allocates no bookkeeping. */
class PendingCommand {
  itt = 0;
  lunHi = 0;
  cdb: Buffer = EMPTY as Buffer;
  read = false;
  write = false;
  expectedLength = 0;
  dataOut: Buffer | null = null;
  dataIn: Buffer | null = null;
  /** Highest Data-In offset + length received. */
  dataInFill = 0;
  startedAt = 0;
  resolve: (r: ScsiResult) => void = noop;
  reject: (e: Error) => void = noop;

  reset(): void {
    this.cdb = EMPTY;
    this.dataOut = null;
    this.dataIn = null;
    this.dataInFill = 0;
    this.resolve = noop;
    this.reject = noop;
  }
}

interface LoginResponse {
  transit: boolean;
  csg: number;
  nsg: number;
  statusClass: number;
  statusDetail: number;
  tsih: number;
  expCmdSn: number;
  maxCmdSn: number;
  keys: Map<string, string>;
}

function noop(): void {}

export class InitiatorSession extends EventEmitter implements PduSink {
  phase: SessionPhase = 'connecting';
  readonly params: NegotiatedParameters;
  readonly isid: Buffer;
  /** Why the session closed, once it has; emitted with 'close'. */
  closeReason: Error | null = null;
  /** True when it closed because we logged out or destroyed it, not because the path failed. */
  closedByUs = false;

  // counters
  commandsCompleted = 0;
  nopInsAnswered = 0;
  r2tsReceived = 0;
  /** Commands that had to wait for the target's CmdSN window to open. */
  commandsHeldByWindow = 0;

  private readonly options: Required<Omit<SessionOptions, 'chap' | 'isid' | 'initiatorAlias' | 'localAddress'>> & SessionOptions;

  private socket!: net.Socket;
  private readonly reader: PduReader;
  private writer!: PduWriter;
  private cmdSn = 1;
  private expCmdSn = 1;
  private maxCmdSn = 1;
  private expStatSn = 0;
  private nextItt = 1;
  private readonly outstanding = new Map<number, PendingCommand>();
  private waiting: PendingCommand[] = [];
  private waitingHead = 0;
  private readonly pool: PendingCommand[] = [];
  private readonly destination: DataDestination = { buffer: EMPTY, offset: 0 };
  private dataInMisplaced = false;
  private sweeper: NodeJS.Timeout | null = null;
  private lastReceiveAt = Date.now();
  private pingItt = RESERVED_TAG;
  private pingSentAt = 0;
  private readonly pings = new Map<number, { sentAt: number; resolve: (ms: number) => void; reject: (e: Error) => void }>();
  private loginResponses: LoginResponse[] = [];
  private loginWaiter: (() => void) | null = null;
  private loginItt = 0;
  private logoutWaiter: (() => void) | null = null;

  private constructor(options: SessionOptions) {
    super();
    this.options = {
      ...DEFAULTS,
      initiatorName: DEFAULT_INITIATOR_NAME,
      headerDigest: 'None',
      dataDigest: 'None',
      ...stripUndefined(options),
      host: options.host,
      port: options.port,
      targetName: options.targetName,
    };
    this.isid = options.isid ?? Buffer.concat([Buffer.from([0x80]), randomBytes(5)]);
    if (this.isid.length !== 6) throw new RangeError('an ISID is 6 bytes');
    this.params = {
      headerDigest: false,
      dataDigest: false,
      maxRecvDataSegmentLength: this.options.maxRecvDataSegmentLength,
      maxXmitDataSegmentLength: 8192,
      maxBurstLength: 262144,
      firstBurstLength: 65536,
      initialR2T: true,
      immediateData: true,
      maxOutstandingR2T: 1,
      tsih: 0,
    };
    this.reader = new PduReader(this);
    this.reader.maxDataLength = Math.max(8192, this.options.maxRecvDataSegmentLength);
  }

  /** Connects and logs in; rejects with LoginError or PathFailedError, leaving nothing open. */
  static async connect(options: SessionOptions): Promise<InitiatorSession> {
    const session = new InitiatorSession(options);
    try {
      await session.open();
    } catch (err) {
      session.fail(err instanceof Error ? err : new Error(String(err)), true);
      throw err;
    }
    return session;
  }

  /** Commands sent or waiting for the CmdSN window, not yet answered. */
  get inFlight(): number {
    return this.outstanding.size;
  }

  get bytesSent(): number {
    return this.writer?.bytesWritten ?? 0;
  }

  bytesReceived = 0;

  get isOpen(): boolean {
    return this.phase === 'full-feature';
  }

  /** host:port of the portal, for messages. */
  get portal(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  // ------------------------------------------------------------------ connect and login

  private async open(): Promise<void> {
    const o = this.options;
    this.socket = await new Promise<net.Socket>((resolve, reject) => {
      // Reads land in one buffer of the socket's own (no allocation per read); the PDU reader copies what it keeps.
      const socket = connectWithReadBuffer({ host: o.host, port: o.port, localAddress: o.localAddress }, { to: (chunk) => this.receive(chunk) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new PathFailedError(`connect to ${this.portal} timed out after ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new PathFailedError(`connect to ${this.portal}: ${err.message}`));
      });
    });
    this.socket.setNoDelay(true);
    this.writer = new PduWriter(this.socket);
    this.socket.on('error', (err) => {
      if (!this.closeReason) this.closeReason = new PathFailedError(`connection to ${this.portal}: ${err.message}`);
    });
    this.socket.on('close', () => this.fail(this.closeReason ?? new PathFailedError(`connection to ${this.portal} closed by the target`)));
    this.phase = 'login';
    const deadline = Date.now() + o.loginTimeoutMs;
    await this.login(deadline);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  private async login(deadline: number): Promise<void> {
    const o = this.options;
    this.loginItt = this.allocateItt();
    const first: TextPairs = [['InitiatorName', o.initiatorName]];
    if (o.initiatorAlias) first.push(['InitiatorAlias', o.initiatorAlias]);
    first.push(['SessionType', 'Normal'], ['TargetName', o.targetName], ['AuthMethod', o.chap ? 'CHAP' : 'None']);

    // Security stage.
    let r: LoginResponse;
    if (!o.chap) {
      r = await this.loginExchange(true, 0, 1, first, deadline);
    } else {
      r = await this.loginExchange(false, 0, 1, first, deadline);
      const method = r.keys.get('AuthMethod');
      if (method !== 'CHAP') throw new LoginError(`target ${o.targetName} answered AuthMethod=${method ?? '(nothing)'} to CHAP`);
      r = await this.loginExchange(false, 0, 1, [['CHAP_A', '7,6,5']], deadline);
      r = await this.answerChap(o.chap, r, deadline);
    }
    for (let round = 0; !r.transit && round < 4; round++) r = await this.loginExchange(true, 0, 1, [], deadline);
    if (!r.transit) throw new LoginError('target kept the login in the security stage');

    // Operational stage (unless the target jumped to full feature already).
    if (r.nsg !== 3) {
      const offers = this.operationalOffers();
      const offered = new Set(offers.map(([k]) => k));
      r = await this.loginExchange(true, 1, 3, offers, deadline);
      let answers = this.applyNegotiation(r.keys, offered);
      for (let round = 0; !(r.transit && r.nsg === 3) && round < 8; round++) {
        r = await this.loginExchange(true, 1, 3, answers, deadline);
        answers = this.applyNegotiation(r.keys, offered);
      }
      if (!(r.transit && r.nsg === 3)) throw new LoginError('target did not move to the full feature phase in 8 rounds');
    }
    this.params.tsih = r.tsih;
    this.cmdSn = r.expCmdSn;
    this.expCmdSn = r.expCmdSn;
    this.maxCmdSn = r.maxCmdSn;
    this.phase = 'full-feature';
    // Digests apply from the first PDU after the final login response, in both directions.
    this.reader.headerDigest = this.params.headerDigest;
    this.reader.dataDigest = this.params.dataDigest;
    this.writer.headerDigest = this.params.headerDigest;
    this.writer.dataDigest = this.params.dataDigest;
  }

  private async answerChap(chap: ChapSecrets, r: LoginResponse, deadline: number): Promise<LoginResponse> {
    const algorithm = r.keys.get('CHAP_A') ?? '';
    const alg = CHAP_HASHES[algorithm];
    const id = Number(r.keys.get('CHAP_I'));
    const challenge = decodeChapBinary(r.keys.get('CHAP_C') ?? '');
    if (!alg || !Number.isInteger(id) || id < 0 || id > 255 || !challenge) {
      throw new LoginError(`target sent an unusable CHAP challenge (CHAP_A=${algorithm || '?'})`);
    }
    const answer: TextPairs = [
      ['CHAP_N', chap.username],
      ['CHAP_R', '0x' + chapHash(alg.hash, id, chap.secret, challenge).toString('hex')],
    ];
    let mutual: { id: number; challenge: Buffer } | null = null;
    if (chap.mutualUsername !== undefined && chap.mutualSecret !== undefined) {
      mutual = { id: randomBytes(1)[0], challenge: randomBytes(alg.challengeBytes) };
      answer.push(['CHAP_I', String(mutual.id)], ['CHAP_C', '0x' + mutual.challenge.toString('hex')]);
    }
    const next = await this.loginExchange(true, 0, 1, answer, deadline);
    if (mutual) {
      const name = next.keys.get('CHAP_N');
      const response = decodeChapBinary(next.keys.get('CHAP_R') ?? '');
      const expected = chapHash(alg.hash, mutual.id, chap.mutualSecret!, mutual.challenge);
      if (name !== chap.mutualUsername || !response || response.length !== expected.length || !timingSafeEqual(response, expected)) {
        throw new LoginError(`target ${this.options.targetName} failed mutual CHAP authentication`, 2, 1);
      }
    }
    return next;
  }

  private operationalOffers(): TextPairs {
    const o = this.options;
    const firstBurst = Math.min(o.firstBurstLength, o.maxBurstLength);
    return [
      ['HeaderDigest', o.headerDigest],
      ['DataDigest', o.dataDigest],
      ['MaxRecvDataSegmentLength', String(o.maxRecvDataSegmentLength)],
      ['InitialR2T', o.initialR2T ? 'Yes' : 'No'],
      ['ImmediateData', o.immediateData ? 'Yes' : 'No'],
      ['MaxBurstLength', String(o.maxBurstLength)],
      ['FirstBurstLength', String(firstBurst)],
      ['MaxOutstandingR2T', String(o.maxOutstandingR2T)],
      ['ErrorRecoveryLevel', '0'],
      ['DataPDUInOrder', 'Yes'],
      ['DataSequenceInOrder', 'Yes'],
      ['MaxConnections', '1'],
      ['DefaultTime2Wait', '0'],
      ['DefaultTime2Retain', '0'],
      ['IFMarker', 'No'],
      ['OFMarker', 'No'],
    ];
  }

  /** Applies the target's answers; returns our answers to keys the target offered on its own. */
  private applyNegotiation(keys: Map<string, string>, offered: Set<string>): TextPairs {
    const p = this.params;
    const o = this.options;
    const replies: TextPairs = [];
    const num = (k: string, v: string): number | undefined => {
      if (!/^\d+$/.test(v)) return undefined;
      const n = Number(v);
      if (n < 1 || n > 16777215) throw new LoginError(`target answered ${k}=${v}`);
      return n;
    };
    for (const [key, value] of keys) {
      switch (key) {
        case 'HeaderDigest':
        case 'DataDigest': {
          const mine = (key === 'HeaderDigest' ? o.headerDigest : o.dataDigest).split(',');
          if (!mine.includes(value)) throw new LoginError(`target answered ${key}=${value} to our ${mine.join(',')}`);
          if (key === 'HeaderDigest') p.headerDigest = value === 'CRC32C';
          else p.dataDigest = value === 'CRC32C';
          break;
        }
        case 'MaxRecvDataSegmentLength':
          p.maxXmitDataSegmentLength = num(key, value) ?? p.maxXmitDataSegmentLength;
          break;
        case 'MaxBurstLength':
          p.maxBurstLength = num(key, value) ?? p.maxBurstLength;
          break;
        case 'FirstBurstLength':
          p.firstBurstLength = num(key, value) ?? p.firstBurstLength;
          break;
        case 'MaxOutstandingR2T':
          p.maxOutstandingR2T = num(key, value) ?? p.maxOutstandingR2T;
          break;
        case 'InitialR2T':
          if (value === 'Yes' || value === 'No') p.initialR2T = value === 'Yes';
          break;
        case 'ImmediateData':
          if (value === 'Yes' || value === 'No') p.immediateData = value === 'Yes';
          break;
        case 'ErrorRecoveryLevel':
          if (value !== '0') throw new LoginError(`target answered ErrorRecoveryLevel=${value}; this initiator does level 0 only`);
          break;
        case 'TargetPortalGroupTag':
        case 'TargetAlias':
          break; // noted by loginExchange
        default:
          // A key the target offers on its own needs an answer; declarations and echoes of ours do not.
          if (!offered.has(key) && key !== 'TargetAddress' && !key.startsWith('X-') && !key.startsWith('X#')) replies.push([key, 'NotUnderstood']);
      }
    }
    if (p.firstBurstLength > p.maxBurstLength) p.firstBurstLength = p.maxBurstLength;
    return replies;
  }

  /** One login request and its response (gathering a response the target continues with C=1). */
  private async loginExchange(transit: boolean, csg: number, nsg: number, pairs: TextPairs, deadline: number): Promise<LoginResponse> {
    this.sendLoginRequest(transit, csg, nsg, encodeTextPairs(pairs));
    const r = await this.nextLoginResponse(deadline);
    const tpgt = r.keys.get('TargetPortalGroupTag');
    if (tpgt !== undefined && /^\d+$/.test(tpgt)) this.params.targetPortalGroupTag = Number(tpgt);
    const alias = r.keys.get('TargetAlias');
    if (alias !== undefined) this.params.targetAlias = alias;
    if (r.statusClass !== 0) {
      throw new LoginError(
        `login to ${this.options.targetName} at ${this.portal} refused: ${loginStatusText(r.statusClass, r.statusDetail)}`,
        r.statusClass,
        r.statusDetail,
      );
    }
    return r;
  }

  private sendLoginRequest(transit: boolean, csg: number, nsg: number, data: Buffer): void {
    const w = this.writer;
    const at = w.begin();
    const b = w.buffer;
    b[at] = Opcode.LoginRequest | IMMEDIATE_BIT;
    b[at + 1] = (transit ? 0x80 : 0) | ((csg & 3) << 2) | (transit ? nsg & 3 : 0);
    this.isid.copy(b, at + 8);
    b.writeUInt16BE(0, at + 14); // TSIH 0: a new session (or the reinstatement of one with this ISID)
    b.writeUInt32BE(this.loginItt, at + 16);
    b.writeUInt16BE(0, at + 20); // CID
    b.writeUInt32BE(this.cmdSn, at + 24);
    b.writeUInt32BE(this.expStatSn, at + 28);
    w.commit(at, data, 0, data.length);
    w.flush();
  }

  private nextLoginResponse(deadline: number): Promise<LoginResponse> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.loginResponses.length > 0) {
          clearTimeout(timer);
          this.loginWaiter = null;
          resolve(this.loginResponses.shift()!);
        } else if (this.phase === 'closed') {
          clearTimeout(timer);
          this.loginWaiter = null;
          reject(this.closeReason ?? new PathFailedError(`connection to ${this.portal} closed during login`));
        }
      };
      const timer = setTimeout(() => {
        this.loginWaiter = null;
        reject(new PathFailedError(`login to ${this.portal} timed out`));
      }, Math.max(1, deadline - Date.now()));
      this.loginWaiter = check;
      check();
    });
  }

  private loginPdu(h: Buffer, data: Buffer, dataOffset: number, dataLength: number): void {
    if ((h[0] & 0x3f) !== Opcode.LoginResponse) {
      this.fail(new PathFailedError(`PDU 0x${(h[0] & 0x3f).toString(16)} during login`));
      return;
    }
    this.expStatSn = snAdd(h.readUInt32BE(24), 1);
    const keys = new Map<string, string>();
    try {
      for (const [k, v] of parseTextPairs(data.subarray(dataOffset, dataOffset + dataLength))) keys.set(k, v);
    } catch (err) {
      this.fail(new LoginError(`malformed login response text: ${(err as Error).message}`));
      return;
    }
    const pending = this.pendingLoginText;
    if (pending) for (const [k, v] of keys) pending.set(k, v);
    const merged = pending ?? keys;
    if (h[1] & 0x40) {
      // The target has more text for this response: ask for it with an empty request in the same stage.
      this.pendingLoginText = merged;
      this.sendLoginRequest(false, (h[1] >> 2) & 3, (h[1] >> 2) & 3, EMPTY);
      return;
    }
    this.pendingLoginText = null;
    this.loginResponses.push({
      transit: (h[1] & 0x80) !== 0,
      csg: (h[1] >> 2) & 3,
      nsg: h[1] & 3,
      tsih: h.readUInt16BE(14),
      expCmdSn: h.readUInt32BE(28),
      maxCmdSn: h.readUInt32BE(32),
      statusClass: h[36],
      statusDetail: h[37],
      keys: merged,
    });
    this.loginWaiter?.();
  }

  private pendingLoginText: Map<string, string> | null = null;

  // ------------------------------------------------------------------ commands

  /**
   * Runs one SCSI command on `lun`. Resolves with the status (CHECK CONDITION included) and Data-In;
   * rejects with PathFailedError when the connection fails under it.
   */
  command(lun: number, cdb: Buffer, options: CommandOptions = {}): Promise<ScsiResult> {
    if (this.phase !== 'full-feature') {
      return Promise.reject(this.closeReason ?? new PathFailedError(`session to ${this.portal} is not in the full feature phase`));
    }
    if (cdb.length > 16) return Promise.reject(new RangeError('CDBs longer than 16 bytes are not supported'));
    const cmd = this.pool.pop() ?? new PendingCommand();
    cmd.lunHi = lunField(lun);
    cmd.cdb = cdb;
    const dataOut = options.dataOut;
    cmd.write = dataOut !== undefined && dataOut.length > 0;
    cmd.dataOut = cmd.write ? dataOut! : null;
    const readLength = options.readLength ?? 0;
    cmd.read = readLength > 0;
    if (cmd.read) {
      const into = options.readInto;
      if (into && into.length < readLength) return Promise.reject(new RangeError(`readInto holds ${into.length} bytes, readLength is ${readLength}`));
      cmd.dataIn = into ?? Buffer.allocUnsafe(readLength);
    }
    cmd.expectedLength = cmd.write ? dataOut!.length : readLength;
    cmd.itt = this.allocateItt();
    cmd.startedAt = Date.now();
    return new Promise<ScsiResult>((resolve, reject) => {
      cmd.resolve = resolve;
      cmd.reject = reject;
      this.outstanding.set(cmd.itt, cmd);
      if (this.waitingHead === this.waiting.length && this.windowOpen()) {
        this.sendScsiCommand(cmd);
      } else {
        this.commandsHeldByWindow++;
        this.waiting.push(cmd);
      }
    });
  }

  /** NOP-Out ping; resolves with the round trip in milliseconds. */
  ping(timeoutMs = 5000): Promise<number> {
    if (this.phase !== 'full-feature') return Promise.reject(this.closeReason ?? new PathFailedError('session not open'));
    const itt = this.allocateItt();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(itt);
        reject(new PathFailedError(`NOP-Out ping to ${this.portal} unanswered after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(itt, {
        sentAt: performance.now(),
        resolve: (ms) => {
          clearTimeout(timer);
          resolve(ms);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.sendNopOut(itt, RESERVED_TAG, 0);
    });
  }

  private windowOpen(): boolean {
    return !snLessThan(this.maxCmdSn, this.cmdSn);
  }

  private allocateItt(): number {
    let itt = this.nextItt;
    while (itt === RESERVED_TAG || itt === 0 || this.outstanding.has(itt) || this.pings.has(itt)) itt = (itt + 1) >>> 0;
    this.nextItt = (itt + 1) >>> 0;
    return itt;
  }

  private sendScsiCommand(cmd: PendingCommand): void {
    const p = this.params;
    const w = this.writer;
    const cmdSn = this.cmdSn;
    this.cmdSn = snAdd(cmdSn, 1);
    const edtl = cmd.expectedLength;
    let immediate = 0;
    let unsolicited = 0;
    if (cmd.write) {
      const firstBurst = Math.min(p.firstBurstLength, edtl);
      if (p.immediateData) immediate = Math.min(firstBurst, p.maxXmitDataSegmentLength);
      unsolicited = p.initialR2T ? immediate : firstBurst;
    }
    const final = unsolicited <= immediate;
    const at = w.begin();
    const b = w.buffer;
    b[at] = Opcode.ScsiCommand;
    b[at + 1] = (final ? FINAL_BIT : 0) | (cmd.read ? 0x40 : 0) | (cmd.write ? 0x20 : 0) | TASK_ATTRIBUTE_SIMPLE;
    b.writeUInt32BE(cmd.lunHi, at + 8);
    b.writeUInt32BE(cmd.itt, at + 16);
    b.writeUInt32BE(edtl, at + 20);
    b.writeUInt32BE(cmdSn, at + 24);
    b.writeUInt32BE(this.expStatSn, at + 28);
    cmd.cdb.copy(b, at + 32, 0, cmd.cdb.length);
    w.commit(at, cmd.dataOut, 0, immediate);
    if (unsolicited > immediate) this.sendDataOut(cmd, RESERVED_TAG, immediate, unsolicited - immediate);
  }

  /** Data-Out PDUs for [offset, offset + length) of the command's data, DataSN from 0 (one sequence). */
  private sendDataOut(cmd: PendingCommand, ttt: number, offset: number, length: number): void {
    const w = this.writer;
    const maxSeg = this.params.maxXmitDataSegmentLength;
    const end = offset + length;
    let dataSn = 0;
    while (offset < end) {
      const n = Math.min(maxSeg, end - offset);
      const at = w.begin();
      const b = w.buffer;
      b[at] = Opcode.DataOut;
      b[at + 1] = offset + n >= end ? FINAL_BIT : 0;
      b.writeUInt32BE(cmd.lunHi, at + 8);
      b.writeUInt32BE(cmd.itt, at + 16);
      b.writeUInt32BE(ttt, at + 20);
      b.writeUInt32BE(this.expStatSn, at + 28);
      b.writeUInt32BE(dataSn++, at + 36);
      b.writeUInt32BE(offset, at + 40);
      w.commit(at, cmd.dataOut, offset, n);
      offset += n;
    }
  }

  private sendNopOut(itt: number, ttt: number, lunHi: number): void {
    const w = this.writer;
    const at = w.begin();
    const b = w.buffer;
    b[at] = Opcode.NopOut | IMMEDIATE_BIT;
    b[at + 1] = FINAL_BIT;
    b.writeUInt32BE(lunHi, at + 8);
    b.writeUInt32BE(itt, at + 16);
    b.writeUInt32BE(ttt, at + 20);
    b.writeUInt32BE(this.cmdSn, at + 24);
    b.writeUInt32BE(this.expStatSn, at + 28);
    w.commit(at, null);
  }

  // ------------------------------------------------------------------ input

  private receive(chunk: Buffer): void {
    this.lastReceiveAt = Date.now();
    this.bytesReceived += chunk.length;
    try {
      this.reader.push(chunk);
    } catch (err) {
      const why = err instanceof PduFramingError ? err.message : `internal error: ${(err as Error).stack ?? err}`;
      this.fail(new PathFailedError(`connection to ${this.portal}: ${why}`));
    }
  }

  onHeader(h: Buffer, _headerLength: number, dataLength: number): DataDestination | null {
    this.dataInMisplaced = false;
    if (dataLength === 0 || (h[0] & 0x3f) !== Opcode.DataIn || this.phase === 'closed') return null;
    const cmd = this.outstanding.get(h.readUInt32BE(16));
    const offset = h.readUInt32BE(40);
    if (!cmd || !cmd.dataIn || offset + dataLength > cmd.expectedLength) {
      this.dataInMisplaced = true;
      return null;
    }
    this.destination.buffer = cmd.dataIn;
    this.destination.offset = offset;
    return this.destination;
  }

  onPdu(h: Buffer, data: Buffer, dataOffset: number, dataLength: number, dataDigestOk: boolean): void {
    if (this.phase === 'closed') return;
    if (!dataDigestOk) {
      this.fail(new PathFailedError(`data digest error from ${this.portal}`));
      return;
    }
    if (this.phase === 'login' || this.phase === 'connecting') {
      this.loginPdu(h, data, dataOffset, dataLength);
      return;
    }
    const opcode = h[0] & 0x3f;
    this.updateWindow(h.readUInt32BE(28), h.readUInt32BE(32));
    switch (opcode) {
      case Opcode.DataIn:
        return this.dataIn(h, dataLength);
      case Opcode.ScsiResponse:
        return this.scsiResponse(h, data, dataOffset, dataLength);
      case Opcode.ReadyToTransfer:
        return this.readyToTransfer(h);
      case Opcode.NopIn:
        return this.nopIn(h);
      case Opcode.AsyncMessage:
        return this.asyncMessage(h, data, dataOffset, dataLength);
      case Opcode.Reject:
        return this.rejected(h, data, dataOffset, dataLength);
      case Opcode.LogoutResponse:
        this.noteStatSn(h.readUInt32BE(24));
        this.logoutWaiter?.();
        return;
      case Opcode.TaskManagementResponse:
      case Opcode.TextResponse:
        this.noteStatSn(h.readUInt32BE(24));
        return;
      default:
        this.fail(new PathFailedError(`unexpected PDU 0x${opcode.toString(16)} from ${this.portal}`));
    }
  }

  private dataIn(h: Buffer, dataLength: number): void {
    const cmd = this.outstanding.get(h.readUInt32BE(16));
    if (this.dataInMisplaced || !cmd) {
      this.fail(new PathFailedError(`Data-In from ${this.portal} for no command or outside its buffer`));
      return;
    }
    const end = h.readUInt32BE(40) + dataLength;
    if (end > cmd.dataInFill) cmd.dataInFill = end;
    if (h[1] & DATA_IN_STATUS) {
      this.noteStatSn(h.readUInt32BE(24));
      this.complete(cmd, h[3], null, h[1], h.readUInt32BE(44));
    }
  }

  private scsiResponse(h: Buffer, data: Buffer, dataOffset: number, dataLength: number): void {
    this.noteStatSn(h.readUInt32BE(24));
    const cmd = this.outstanding.get(h.readUInt32BE(16));
    if (!cmd) return;
    if (h[2] !== 0) {
      // Not completed at the target (target failure): at ERL 0 the command may be re-issued.
      this.outstanding.delete(cmd.itt);
      this.finish(cmd, null, new PathFailedError(`${operationName(cmd.cdb)} not completed at ${this.portal} (iSCSI response 0x${h[2].toString(16)})`));
      return;
    }
    let sense: Buffer | null = null;
    if (dataLength >= 2) {
      const senseLength = Math.min(data.readUInt16BE(dataOffset), dataLength - 2);
      if (senseLength > 0) sense = Buffer.from(data.subarray(dataOffset + 2, dataOffset + 2 + senseLength));
    }
    this.complete(cmd, h[3], sense, h[1], h.readUInt32BE(44));
  }

  private readyToTransfer(h: Buffer): void {
    const cmd = this.outstanding.get(h.readUInt32BE(16));
    if (!cmd) return; // the command ended meanwhile (e.g. CHECK CONDITION): nothing to send
    const offset = h.readUInt32BE(40);
    const length = h.readUInt32BE(44);
    if (!cmd.dataOut || length === 0 || offset + length > cmd.dataOut.length) {
      this.fail(new PathFailedError(`R2T from ${this.portal} for bytes the command does not have (${offset}+${length})`));
      return;
    }
    this.r2tsReceived++;
    this.sendDataOut(cmd, h.readUInt32BE(20), offset, length);
  }

  private nopIn(h: Buffer): void {
    const itt = h.readUInt32BE(16);
    if (itt !== RESERVED_TAG) {
      this.noteStatSn(h.readUInt32BE(24));
      if (itt === this.pingItt) this.pingItt = RESERVED_TAG;
      const ping = this.pings.get(itt);
      if (ping) {
        this.pings.delete(itt);
        ping.resolve(performance.now() - ping.sentAt);
      }
      return;
    }
    const ttt = h.readUInt32BE(20);
    if (ttt !== RESERVED_TAG) {
      // The target pings us: answer with its tag (RFC 7143 §11.18).
      this.sendNopOut(RESERVED_TAG, ttt, h.readUInt32BE(8));
      this.nopInsAnswered++;
    }
  }

  private asyncMessage(h: Buffer, data: Buffer, dataOffset: number, dataLength: number): void {
    this.noteStatSn(h.readUInt32BE(24));
    const event = h[36];
    if (event === 0) {
      let sense: SenseData | null = null;
      if (dataLength >= 2) {
        const n = Math.min(data.readUInt16BE(dataOffset), dataLength - 2);
        sense = decodeSense(Buffer.from(data.subarray(dataOffset + 2, dataOffset + 2 + n)));
      }
      this.emit('scsi-event', sense);
    } else if (event === 1) {
      this.emit('logout-requested', h.readUInt16BE(42));
    } else if (event === 2 || event === 3) {
      this.emit('drop-requested', event);
    }
  }

  private rejected(h: Buffer, data: Buffer, dataOffset: number, dataLength: number): void {
    this.noteStatSn(h.readUInt32BE(24));
    const reason = h[2];
    if (dataLength < 48) return;
    const opcode = data[dataOffset] & 0x3f;
    const cmd = opcode === Opcode.ScsiCommand ? this.outstanding.get(data.readUInt32BE(dataOffset + 16)) : undefined;
    if (reason === 0x02) return; // data digest error: the target drops the connection next, failing the command
    if (cmd) {
      this.outstanding.delete(cmd.itt);
      this.finish(cmd, null, new CommandRejectedError(`${this.portal} rejected ${operationName(cmd.cdb)} (reason 0x${reason.toString(16)})`, reason));
    }
    // A rejected Data-Out ends its command with CHECK CONDITION later; nothing to do now.
  }

  private noteStatSn(statSn: number): void {
    const next = snAdd(statSn, 1);
    if (snLessThan(this.expStatSn, next)) this.expStatSn = next;
  }

  private updateWindow(expCmdSn: number, maxCmdSn: number): void {
    // RFC 7143 §4.2.2.1: ignore the pair when MaxCmdSN < ExpCmdSN - 1; numbers only move forward.
    if (snLessThan(maxCmdSn, snAdd(expCmdSn, -1))) return;
    if (snLessThan(this.expCmdSn, expCmdSn)) this.expCmdSn = expCmdSn;
    if (snLessThan(this.maxCmdSn, maxCmdSn)) {
      this.maxCmdSn = maxCmdSn;
      this.drainWaiting();
    }
  }

  private drainWaiting(): void {
    while (this.waitingHead < this.waiting.length && this.windowOpen()) {
      const cmd = this.waiting[this.waitingHead];
      this.waiting[this.waitingHead++] = undefined as unknown as PendingCommand;
      this.sendScsiCommand(cmd);
    }
    if (this.waitingHead === this.waiting.length) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
  }

  private complete(cmd: PendingCommand, status: number, sense: Buffer | null, flags: number, residualCount: number): void {
    this.outstanding.delete(cmd.itt);
    this.commandsCompleted++;
    const residual = flags & RESIDUAL_UNDERFLOW ? residualCount : flags & RESIDUAL_OVERFLOW ? -residualCount : 0;
    let data = EMPTY;
    if (cmd.dataIn) data = cmd.dataInFill === cmd.dataIn.length ? cmd.dataIn : cmd.dataIn.subarray(0, cmd.dataInFill);
    this.finish(cmd, { status, sense: sense ? decodeSense(sense) : null, data, residual }, null);
  }

  private finish(cmd: PendingCommand, result: ScsiResult | null, error: Error | null): void {
    const resolve = cmd.resolve;
    const reject = cmd.reject;
    cmd.reset();
    if (this.pool.length < COMMAND_POOL_LIMIT) this.pool.push(cmd);
    if (error) reject(error);
    else resolve(result!);
  }

  // ------------------------------------------------------------------ timers, logout, failure

  private sweep(): void {
    if (this.phase !== 'full-feature') return;
    const now = Date.now();
    const o = this.options;
    if (o.commandTimeoutMs > 0 && this.outstanding.size > 0) {
      const oldest = this.outstanding.values().next().value as PendingCommand;
      if (now - oldest.startedAt > o.commandTimeoutMs) {
        this.fail(new PathFailedError(`${operationName(oldest.cdb)} on ${this.portal} timed out after ${o.commandTimeoutMs} ms`));
        return;
      }
    }
    if (this.pingItt !== RESERVED_TAG) {
      if (now - this.pingSentAt > o.nopTimeoutMs) {
        this.fail(new PathFailedError(`${this.portal} did not answer a NOP-Out ping within ${o.nopTimeoutMs} ms`));
      }
      return;
    }
    if (o.nopIntervalMs > 0 && now - this.lastReceiveAt >= o.nopIntervalMs) {
      this.pingItt = this.allocateItt();
      this.pingSentAt = now;
      this.sendNopOut(this.pingItt, RESERVED_TAG, 0);
    }
  }

  /** Logs out (close the session), waiting at most `timeoutMs` for the answer; the connection is closed either way. */
  async logout(timeoutMs = 3000): Promise<void> {
    if (this.phase !== 'full-feature') {
      this.destroy();
      return;
    }
    this.phase = 'logout';
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.logoutWaiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const w = this.writer;
    const at = w.begin();
    const b = w.buffer;
    b[at] = Opcode.LogoutRequest | IMMEDIATE_BIT;
    b[at + 1] = FINAL_BIT; // reason 0: close the session
    b.writeUInt32BE(this.allocateItt(), at + 16);
    b.writeUInt32BE(this.cmdSn, at + 24);
    b.writeUInt32BE(this.expStatSn, at + 28);
    w.commit(at, null);
    w.flush();
    await answered;
    this.fail(new PathFailedError(`session to ${this.portal} logged out`), true);
  }

  /** Closes the connection at once; outstanding commands fail with PathFailedError. */
  destroy(reason = 'session closed'): void {
    this.fail(new PathFailedError(`${reason} (${this.portal})`), true);
  }

  private fail(error: Error, byUs = false): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.closedByUs = byUs;
    this.closeReason = error;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.writer?.close();
    this.socket?.destroy();
    const commands = [...this.outstanding.values()];
    this.outstanding.clear();
    this.waiting = [];
    this.waitingHead = 0;
    const pathError = error instanceof PathFailedError || error instanceof LoginError ? error : new PathFailedError(error.message);
    for (const cmd of commands) this.finish(cmd, null, pathError);
    for (const ping of this.pings.values()) ping.reject(pathError);
    this.pings.clear();
    this.loginWaiter?.();
    this.logoutWaiter?.();
    this.emit('close', error);
  }
}

/** The 8-byte LUN field's first word: peripheral addressing below 256, flat space above (SAM-5). */
function lunField(lun: number): number {
  return lun < 256 ? (lun << 16) >>> 0 : ((0x4000 | (lun & 0x3fff)) << 16) >>> 0;
}

function chapHash(hash: string, id: number, secret: string, challenge: Buffer): Buffer {
  return createHash(hash).update(Buffer.from([id])).update(secret, 'utf8').update(challenge).digest();
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const LOGIN_STATUS_TEXT: Record<number, string> = {
  0x0101: 'target moved temporarily',
  0x0102: 'target moved permanently',
  0x0200: 'initiator error',
  0x0201: 'authentication failure',
  0x0202: 'authorization failure',
  0x0203: 'target not found',
  0x0204: 'target removed',
  0x0205: 'unsupported version',
  0x0206: 'too many connections',
  0x0207: 'missing parameter',
  0x0208: 'cannot include in session',
  0x0209: 'session type not supported',
  0x020a: 'session does not exist',
  0x020b: 'invalid during login',
  0x0300: 'target error',
  0x0301: 'service unavailable',
  0x0302: 'out of resources',
};

export function loginStatusText(statusClass: number, statusDetail: number): string {
  const code = (statusClass << 8) | statusDetail;
  return `${LOGIN_STATUS_TEXT[code] ?? 'status'} (0x${code.toString(16).padStart(4, '0')})`;
}
