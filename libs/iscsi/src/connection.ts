/**
 * One iSCSI connection: login (security and operational stages), then the full feature phase —
 * SCSI commands with immediate, unsolicited and solicited (R2T) data, Data-In with phase-collapsed status,
 * NOP ping/keepalive, task management, text (SendTargets), logout and Reject. Error recovery level 0:
 * anything that breaks the stream closes the connection, and the session with it.
 */
import { Socket } from 'net';
import { ScsiStatus, TaskAttribute } from '@tandem/scsi';
import { crc32c, dataBuffers } from '@tandem/storage';
import {
  AsyncEvent, BHS_LENGTH, DIGEST_LENGTH, FINAL_BIT, IMMEDIATE_BIT, LoginStage, LoginStatus, LogoutReason,
  Opcode, RESERVED_TAG, RejectReason, TmfFunction, TmfResponse, snAdd, snLessThan,
} from './constants';
import { ChapAuthenticator, ChapError } from './chap';
import { Logger } from './logger';
import { NegotiationError, OperationalNegotiator, SessionParameters } from './negotiation';
import { DataDestination, PduFramingError, PduReader, PduSink } from './pduReader';
import { IscsiSession, IscsiTask, SessionType } from './session';
import type { IscsiServer, RegisteredTarget } from './server';
import { TextFormatError, TextPairs, encodeTextPairs, parseTextPairs } from './textParameters';

const PADDING = Buffer.alloc(4);
const MAX_LOGIN_DATA = 65536;

type Phase = 'login' | 'full-feature' | 'logged-out' | 'closed';

export class IscsiConnection implements PduSink {
  readonly id: number;
  private readonly reader: PduReader;
  private phase: Phase = 'login';
  private statSn = 0;
  private session: IscsiSession | null = null;
  private params: SessionParameters | null = null;
  cid = 0;
  private corked = false;
  private lastReceive = Date.now();
  private pingTag = RESERVED_TAG;
  private pingSentAt = 0;
  private keepalive: NodeJS.Timeout | null = null;
  private nextTtt = 1;
  private readonly r2ts = new Map<number, { task: IscsiTask; offset: number; length: number; received: number; dataSn: number }>();

  // login state
  private loginStage: LoginStage = LoginStage.Security;
  private loginItt = -1;
  private loginIsid = '';
  private loginTsih = 0;
  private loginCmdSn = 0;
  private loginData: Buffer[] = [];
  private loginDataLength = 0;
  private negotiator: OperationalNegotiator | null = null;
  private chap: ChapAuthenticator | null = null;
  private authenticated = false;
  private loginTarget: RegisteredTarget | null = null;
  private loginSessionType: SessionType = 'Normal';
  private initiatorName = '';

  // text continuation state (SendTargets answers longer than one PDU)
  private textPending: { itt: number; ttt: number; data: Buffer; offset: number } | null = null;

  // per-PDU state between onHeader and onPdu
  private pendingWriteBuffer: Buffer | null = null;
  private pendingDataOutOk = false;

  constructor(
    private readonly socket: Socket,
    private readonly server: IscsiServer,
    readonly portalGroupTag: number,
    private readonly log: Logger,
  ) {
    this.id = server.nextConnectionId();
    this.reader = new PduReader(this);
    this.reader.maxDataLength = server.limits.maxRecvDataSegmentLength;
    socket.setNoDelay(true);
    socket.on('error', (err) => this.log.debug({ conn: this.id, err: err.message }, 'socket error'));
    socket.on('close', () => this.closed());
    this.keepalive = setInterval(() => this.checkAlive(), server.nopIntervalMs);
    this.keepalive.unref();
  }

  localAddress(): string {
    return this.socket.localAddress ?? '127.0.0.1';
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  get sessionType(): SessionType {
    return this.session?.type ?? 'Normal';
  }

  // ---------------------------------------------------------------- input

  /** Bytes from the socket (its server routes every read here); `chunk` is valid only during the call. */
  receive(chunk: Buffer): void {
    this.lastReceive = Date.now();
    this.cork();
    try {
      this.reader.push(chunk);
    } catch (err) {
      if (err instanceof PduFramingError) {
        this.log.warn({ conn: this.id, remote: this.remote, reason: err.message }, 'closing connection: unrecoverable PDU stream');
        this.close();
      } else {
        this.log.error({ conn: this.id, err: (err as Error).stack }, 'closing connection: internal error');
        this.close();
      }
    }
  }

  onHeader(h: Buffer, _headerLength: number, dataLength: number): DataDestination | null {
    this.pendingWriteBuffer = null;
    this.pendingDataOutOk = false;
    if (this.phase !== 'full-feature' || dataLength === 0) return null;
    const opcode = h[0] & 0x3f;
    if (opcode === Opcode.ScsiCommand) {
      const write = (h[1] & 0x20) !== 0;
      const edtl = h.readUInt32BE(20);
      if (!write || dataLength > edtl || edtl > this.server.maxTaskBytes || !this.params!.immediateData || dataLength > this.params!.firstBurstLength) return null;
      const buf = dataBuffers.take(edtl);
      this.pendingWriteBuffer = buf;
      return { buffer: buf, offset: 0 };
    }
    if (opcode === Opcode.DataOut) {
      const itt = h.readUInt32BE(16);
      const ttt = h.readUInt32BE(20);
      const offset = h.readUInt32BE(40);
      const task = this.session?.tasks.get(itt);
      if (!task || !task.dataOut || task.finished || task.executing) return null;
      if (offset + dataLength > task.expectedLength) return null;
      if (ttt === RESERVED_TAG) {
        if (task.unsolicitedExpected === 0 || offset !== task.received) return null;
      } else {
        const r2t = this.r2ts.get(ttt);
        if (!r2t || r2t.task !== task || offset !== r2t.offset + r2t.received || r2t.received + dataLength > r2t.length) return null;
      }
      this.pendingDataOutOk = true;
      return { buffer: task.dataOut, offset };
    }
    return null;
  }

  onPdu(h: Buffer, data: Buffer, dataOffset: number, dataLength: number, digestOk: boolean): void {
    const opcode = h[0] & 0x3f;
    if (!digestOk) {
      // ERL 0: a data digest error on a command or Data-Out cannot be retried; reject it and drop the connection.
      this.dropPendingBuffer();
      this.sendReject(RejectReason.DataDigestError, h);
      this.log.warn({ conn: this.id, opcode }, 'data digest error: closing connection');
      this.closeAfterFlush();
      return;
    }
    if (this.phase === 'login') {
      if (opcode !== Opcode.LoginRequest) {
        this.log.warn({ conn: this.id, opcode }, 'non-login PDU during login: closing connection');
        this.sendLoginReject(h, LoginStatus.InvalidDuringLogin);
        return;
      }
      this.handleLogin(h, data.subarray(dataOffset, dataOffset + dataLength));
      return;
    }
    if (this.phase !== 'full-feature') return;
    switch (opcode) {
      case Opcode.ScsiCommand:
        return this.handleScsiCommand(h, data, dataOffset, dataLength);
      case Opcode.DataOut:
        return this.handleDataOut(h, dataLength);
      case Opcode.NopOut:
        return this.handleNopOut(h, data.subarray(dataOffset, dataOffset + dataLength));
      case Opcode.TaskManagementRequest:
        return this.handleTaskManagement(h);
      case Opcode.TextRequest:
        return this.handleText(h, data.subarray(dataOffset, dataOffset + dataLength));
      case Opcode.LogoutRequest:
        return this.handleLogout(h);
      case Opcode.LoginRequest:
        this.sendReject(RejectReason.ProtocolError, h);
        return;
      case Opcode.Snack:
        this.sendReject(RejectReason.SnackReject, h);
        return;
      default:
        this.sendReject(RejectReason.CommandNotSupported, h);
    }
  }

  private dropPendingBuffer(): void {
    if (this.pendingWriteBuffer) dataBuffers.give(this.pendingWriteBuffer);
    this.pendingWriteBuffer = null;
  }

  // ---------------------------------------------------------------- login

  private handleLogin(h: Buffer, data: Buffer): void {
    const transit = (h[1] & 0x80) !== 0;
    const cont = (h[1] & 0x40) !== 0;
    const csg = (h[1] >> 2) & 3;
    const nsg = h[1] & 3;
    const versionMax = h[2];
    const versionMin = h[3];
    const isid = h.toString('hex', 8, 14);
    const tsih = h.readUInt16BE(14);
    const itt = h.readUInt32BE(16);
    const cid = h.readUInt16BE(20);
    const cmdSn = h.readUInt32BE(24);
    const expStatSn = h.readUInt32BE(28);

    if ((h[0] & IMMEDIATE_BIT) === 0 && this.loginItt === -1) {
      // RFC: login requests are always immediate; be lenient but note it.
      this.log.debug({ conn: this.id }, 'login request without I bit');
    }
    if (versionMin > 0) return this.failLogin(h, LoginStatus.UnsupportedVersion, `unsupported iSCSI version ${versionMin}-${versionMax}`);
    if (this.loginItt === -1) {
      this.loginItt = itt;
      this.loginIsid = isid;
      this.loginTsih = tsih;
      this.cid = cid;
      this.loginCmdSn = cmdSn;
      this.statSn = expStatSn >>> 0;
    } else if (isid !== this.loginIsid || tsih !== this.loginTsih || cid !== this.cid) {
      return this.failLogin(h, LoginStatus.InitiatorError, 'ISID, TSIH or CID changed during login');
    }
    this.loginItt = itt;
    if (csg !== this.loginStage && !(csg === LoginStage.Operational && this.loginStage === LoginStage.Security && this.canSkipSecurity())) {
      if (csg === LoginStage.Operational && this.loginStage === LoginStage.Security) {
        return this.failLogin(h, LoginStatus.AuthenticationFailure, 'authentication required but the initiator skipped the security stage');
      }
      return this.failLogin(h, LoginStatus.InitiatorError, `login stage ${csg} out of order (expected ${this.loginStage})`);
    }
    if ((csg as number) === LoginStage.FullFeature || (csg as number) === 2) {
      return this.failLogin(h, LoginStatus.InitiatorError, `invalid current login stage ${csg}`);
    }
    if (transit && cont) return this.failLogin(h, LoginStatus.InitiatorError, 'login PDU with both T and C bits');
    if (transit && (nsg === 2 || nsg <= csg)) return this.failLogin(h, LoginStatus.InitiatorError, `invalid next stage ${nsg}`);
    this.loginStage = csg;

    // Text may span several PDUs (C bit): gather before parsing.
    this.loginDataLength += data.length;
    if (this.loginDataLength > MAX_LOGIN_DATA) return this.failLogin(h, LoginStatus.OutOfResources, 'login text too long');
    this.loginData.push(Buffer.from(data));
    if (cont) {
      this.sendLoginResponse(h, LoginStatus.Success, [], false, csg, csg);
      return;
    }
    const text = Buffer.concat(this.loginData);
    this.loginData = [];
    this.loginDataLength = 0;
    let pairs: TextPairs;
    try {
      pairs = parseTextPairs(text);
    } catch (err) {
      return this.failLogin(h, LoginStatus.InitiatorError, (err as TextFormatError).message);
    }

    this.log.debug({ conn: this.id, csg, nsg, transit, keys: pairs.filter(([k]) => !k.startsWith('CHAP_')) }, 'login request');
    const out: TextPairs = [];
    const offered = new Map<string, string>();
    for (const [k, v] of pairs) {
      if (offered.has(k) && !k.startsWith('CHAP_')) return this.failLogin(h, LoginStatus.InitiatorError, `key ${k} sent twice`);
      offered.set(k, v);
    }

    // The first PDU must identify the initiator and the target.
    if (!this.initiatorName) {
      const initiatorName = offered.get('InitiatorName');
      if (!initiatorName) return this.failLogin(h, LoginStatus.MissingParameter, 'InitiatorName missing');
      this.initiatorName = initiatorName;
      const st = offered.get('SessionType') ?? 'Normal';
      if (st !== 'Normal' && st !== 'Discovery') return this.failLogin(h, LoginStatus.SessionTypeNotSupported, `session type ${st}`);
      this.loginSessionType = st;
      if (st === 'Normal') {
        const targetName = offered.get('TargetName');
        if (!targetName) return this.failLogin(h, LoginStatus.MissingParameter, 'TargetName missing');
        const target = this.server.findTarget(targetName);
        if (!target) return this.failLogin(h, LoginStatus.TargetNotFound, `target ${targetName} not found`);
        if (!target.portalGroupTags.includes(this.portalGroupTag)) {
          return this.failLogin(h, LoginStatus.TargetNotFound, `target ${targetName} is not exported through this portal`);
        }
        this.loginTarget = target;
        if (target.definition.alias) out.push(['TargetAlias', target.definition.alias]);
      }
      if (tsih !== 0) {
        const existing = this.server.sessionByTsih(tsih);
        if (!existing || existing.initiatorName !== this.initiatorName || existing.isid !== isid) {
          return this.failLogin(h, LoginStatus.SessionDoesNotExist, `session ${tsih} does not exist`);
        }
        if (existing.params.maxConnections <= 1 && ![...existing.connections].some((c) => c.cid === cid)) {
          return this.failLogin(h, LoginStatus.TooManyConnections, 'session allows one connection');
        }
      }
      this.negotiator = new OperationalNegotiator(this.server.limits, () => this.loginSessionType === 'Discovery');
      out.push(['TargetPortalGroupTag', String(this.portalGroupTag)]);
    }

    const required = this.requiredChap();
    if (csg === LoginStage.Security) {
      const method = offered.get('AuthMethod');
      if (method !== undefined && !this.chap) {
        const methods = method.split(',');
        if (required) {
          if (!methods.includes('CHAP')) return this.failLogin(h, LoginStatus.AuthenticationFailure, 'target requires CHAP');
          out.push(['AuthMethod', 'CHAP']);
          this.chap = new ChapAuthenticator(required);
        } else if (methods.includes('None')) {
          out.push(['AuthMethod', 'None']);
          this.authenticated = true;
        } else {
          out.push(['AuthMethod', 'Reject']);
        }
      }
      if (this.chap) {
        try {
          out.push(...this.chap.step(offered));
        } catch (err) {
          const e = err as ChapError;
          const status = e.kind === 'authentication' ? LoginStatus.AuthenticationFailure : LoginStatus.InitiatorError;
          return this.failLogin(h, status, e.message);
        }
        if (this.chap.done) this.authenticated = true;
      } else if (!required && method === undefined) {
        this.authenticated = true;
      }
      // Operational keys may already appear in the security stage.
      try {
        out.push(...this.negotiator!.answer(pairs));
      } catch (err) {
        return this.failLogin(h, LoginStatus.InitiatorError, (err as NegotiationError).message);
      }
      if (transit && !this.authenticated && this.chap) {
        // CHAP still under way: the target declines the stage change (T=0) until it completes.
        this.sendLoginResponse(h, LoginStatus.Success, out, false, csg, csg);
        return;
      }
      if (transit) {
        if (!this.authenticated) {
          const why = required ? 'initiator did not offer CHAP' : 'authentication not negotiated';
          return this.failLogin(h, LoginStatus.AuthenticationFailure, why);
        }
        if (nsg === LoginStage.FullFeature) return this.completeLogin(h, out);
        this.loginStage = LoginStage.Operational;
        this.sendLoginResponse(h, LoginStatus.Success, out, true, csg, nsg);
        return;
      }
      this.sendLoginResponse(h, LoginStatus.Success, out, false, csg, csg);
      return;
    }

    // Operational stage (entered directly when no authentication is required).
    if (!this.authenticated) {
      if (required) return this.failLogin(h, LoginStatus.AuthenticationFailure, 'authentication required');
      this.authenticated = true;
    }
    try {
      out.push(...this.negotiator!.answer(pairs));
    } catch (err) {
      return this.failLogin(h, LoginStatus.InitiatorError, (err as NegotiationError).message);
    }
    if (transit && nsg === LoginStage.FullFeature) return this.completeLogin(h, out);
    this.sendLoginResponse(h, LoginStatus.Success, out, false, csg, csg);
  }

  private canSkipSecurity(): boolean {
    return this.requiredChap() === undefined;
  }

  private requiredChap() {
    if (this.loginSessionType === 'Discovery') return this.server.discoveryChap;
    return this.loginTarget?.definition.chap;
  }

  private completeLogin(h: Buffer, out: TextPairs): void {
    out.push(...this.negotiator!.closingDeclarations());
    const params = this.negotiator!.params;
    let session: IscsiSession;
    try {
      session = this.server.bindSession(this, {
        initiatorName: this.initiatorName,
        isid: this.loginIsid,
        tsih: this.loginTsih,
        type: this.loginSessionType,
        target: this.loginTarget,
        params,
        cmdSn: this.loginCmdSn,
      });
    } catch (err) {
      return this.failLogin(h, LoginStatus.OutOfResources, (err as Error).message);
    }
    this.session = session;
    this.params = session.params;
    this.loginTsih = session.tsih;
    this.sendLoginResponse(h, LoginStatus.Success, out, true, this.loginStage, LoginStage.FullFeature);
    // Digests and the data segment limit apply from the first PDU after the final login response.
    this.phase = 'full-feature';
    this.reader.headerDigest = session.params.headerDigest;
    this.reader.dataDigest = session.params.dataDigest;
    this.reader.maxDataLength = session.params.maxRecvDataSegmentLength;
    this.log.info({
      conn: this.id, remote: this.remote, initiator: this.initiatorName, target: this.loginTarget?.definition.name,
      type: this.loginSessionType, tsih: session.tsih, headerDigest: params.headerDigest, dataDigest: params.dataDigest,
    }, 'login complete');
  }

  private failLogin(h: Buffer, status: LoginStatus, reason: string): void {
    this.log.warn({ conn: this.id, remote: this.remote, initiator: this.initiatorName || undefined, status: status.toString(16).padStart(4, '0'), reason }, 'login refused');
    this.sendLoginReject(h, status);
  }

  private sendLoginReject(h: Buffer, status: LoginStatus): void {
    this.sendLoginResponse(h, status, [], false, this.loginStage, this.loginStage);
    this.phase = 'logged-out';
    this.closeAfterFlush();
  }

  private sendLoginResponse(h: Buffer, status: LoginStatus, pairs: TextPairs, transit: boolean, csg: number, nsg: number): void {
    const r = this.newHeader();
    r[0] = Opcode.LoginResponse;
    r[1] = (transit ? 0x80 : 0) | ((csg & 3) << 2) | (transit ? nsg & 3 : 0);
    r[2] = 0x00; // version max
    r[3] = 0x00; // version active
    h.copy(r, 8, 8, 14); // ISID
    r.writeUInt16BE(status === LoginStatus.Success ? this.loginTsih : 0, 14);
    r.writeUInt32BE(h.readUInt32BE(16), 16);
    r.writeUInt32BE(this.statSn, 24);
    if (status === LoginStatus.Success || transit) this.statSn = snAdd(this.statSn, 1);
    const exp = this.session?.window.expCmdSn ?? this.loginCmdSn;
    r.writeUInt32BE(exp, 28);
    r.writeUInt32BE(this.session?.window.maxCmdSn ?? exp, 32);
    r[36] = status >> 8;
    r[37] = status & 0xff;
    const data = encodeTextPairs(pairs);
    this.sendPdu(r, data, 0, data.length, null);
  }

  // ---------------------------------------------------------------- SCSI commands

  private handleScsiCommand(h: Buffer, data: Buffer, dataOffset: number, dataLength: number): void {
    const session = this.session!;
    const immediate = (h[0] & IMMEDIATE_BIT) !== 0;
    const cmdSn = h.readUInt32BE(24);
    const itt = h.readUInt32BE(16);
    const writeBuffer = this.pendingWriteBuffer;
    this.pendingWriteBuffer = null;

    if (session.type === 'Discovery') {
      if (writeBuffer) dataBuffers.give(writeBuffer);
      this.sendReject(RejectReason.ProtocolError, h);
      return;
    }
    if (!immediate && !session.window.inWindow(cmdSn)) {
      // Out-of-window commands are ignored, not fatal (RFC 7143 §4.2.2.1).
      if (writeBuffer) dataBuffers.give(writeBuffer);
      this.log.debug({ conn: this.id, cmdSn, exp: session.window.expCmdSn, max: session.window.maxCmdSn }, 'ignoring command outside the CmdSN window');
      return;
    }
    if (session.tasks.has(itt)) {
      if (writeBuffer) dataBuffers.give(writeBuffer);
      this.sendReject(RejectReason.TaskInProgress, h);
      return;
    }
    const flags = h[1];
    const read = (flags & 0x40) !== 0;
    const write = (flags & 0x20) !== 0;
    const edtl = h.readUInt32BE(20);
    const ahsLength = h[4] * 4;
    if (dataLength > 0 && (!write || dataLength > edtl || !this.params!.immediateData || dataLength > this.params!.firstBurstLength)) {
      if (writeBuffer) dataBuffers.give(writeBuffer);
      this.sendReject(RejectReason.ProtocolError, h);
      return;
    }
    if (write && (flags & FINAL_BIT) === 0 && this.params!.initialR2T) {
      if (writeBuffer) dataBuffers.give(writeBuffer);
      this.sendReject(RejectReason.ProtocolError, h);
      return;
    }

    if (write && edtl > this.server.maxTaskBytes) {
      // Refuse before allocating: no command may make the target reserve more than it ever transfers at once.
      if (writeBuffer) dataBuffers.give(writeBuffer);
      this.refuseOversizedWrite(h, itt, cmdSn, immediate, edtl);
      return;
    }
    const task = new IscsiTask();
    task.connection = this;
    task.nexus = session.nexus!;
    task.itt = itt;
    task.cmdSn = cmdSn;
    task.immediate = immediate;
    task.lunHi = h.readUInt32BE(8);
    task.lunLo = h.readUInt32BE(12);
    task.lun = decodeLun(h);
    task.attribute = (flags & 7) as TaskAttribute;
    task.tag = itt;
    task.expectedLength = edtl;
    task.readDirection = read;
    task.writeDirection = write;
    task.cdb = ahsLength > 0 ? extendedCdb(h, ahsLength) : Buffer.from(h.subarray(32, 48));
    if (write && edtl > 0) {
      task.dataOut = writeBuffer ?? dataBuffers.take(edtl);
      task.dataOutLength = edtl;
      if (dataLength > 0 && !writeBuffer) data.copy(task.dataOut, 0, dataOffset, dataOffset + dataLength);
      task.received = dataLength;
      task.nextR2tOffset = dataLength;
      if ((flags & FINAL_BIT) === 0) {
        // Unsolicited Data-Out follows, up to FirstBurstLength in total.
        const unsolicitedEnd = Math.min(this.params!.firstBurstLength, edtl);
        task.unsolicitedExpected = Math.max(0, unsolicitedEnd - dataLength);
        task.nextR2tOffset = unsolicitedEnd;
      }
    } else if (writeBuffer) {
      dataBuffers.give(writeBuffer);
    }
    session.tasks.set(itt, task);

    if (immediate) this.startTask(task);
    else session.window.offer(cmdSn, task);
  }

  private refuseOversizedWrite(h: Buffer, itt: number, cmdSn: number, immediate: boolean, edtl: number): void {
    const session = this.session!;
    this.log.warn({ conn: this.id, itt, edtl, limit: this.server.maxTaskBytes }, 'write larger than the target accepts: refusing');
    const task = new IscsiTask();
    task.connection = this;
    task.itt = itt;
    task.cmdSn = cmdSn;
    task.immediate = immediate;
    task.expectedLength = edtl;
    task.writeDirection = true;
    task.status = ScsiStatus.CheckCondition;
    task.sense = INVALID_FIELD_IN_CDB_SENSE;
    task.finished = true;
    // Unsolicited Data-Out that follows is dropped quietly; the window still counts the command.
    session.rememberAborted(itt);
    if (!immediate) session.window.consume(cmdSn);
    this.sendScsiResult(task);
  }

  /** Called in CmdSN order (or at once for immediate commands): solicit the data or execute. */
  startTask(task: IscsiTask): void {
    task.delivered = true;
    if (task.aborted || task.finished) {
      this.session?.window.completed();
      return;
    }
    if (task.dataOut && task.received < task.expectedLength) {
      if (task.unsolicitedExpected === 0) this.sendR2ts(task);
      return;
    }
    this.execute(task);
  }

  private sendR2ts(task: IscsiTask): void {
    const p = this.params!;
    while (task.outstandingR2ts < p.maxOutstandingR2T && task.nextR2tOffset < task.expectedLength) {
      const length = Math.min(p.maxBurstLength, task.expectedLength - task.nextR2tOffset);
      const ttt = this.allocateTtt();
      this.r2ts.set(ttt, { task, offset: task.nextR2tOffset, length, received: 0, dataSn: 0 });
      const r = this.newHeader();
      r[0] = Opcode.ReadyToTransfer;
      r[1] = 0x80;
      r.writeUInt32BE(task.lunHi, 8);
      r.writeUInt32BE(task.lunLo, 12);
      r.writeUInt32BE(task.itt, 16);
      r.writeUInt32BE(ttt, 20);
      this.writeSequenceNumbers(r, false);
      r.writeUInt32BE(task.r2tSn, 36);
      r.writeUInt32BE(task.nextR2tOffset, 40);
      r.writeUInt32BE(length, 44);
      this.sendPdu(r, null, 0, 0, null);
      task.r2tSn = snAdd(task.r2tSn, 1);
      task.nextR2tOffset += length;
      task.outstandingR2ts++;
    }
  }

  private allocateTtt(): number {
    let ttt = this.nextTtt;
    this.nextTtt = this.nextTtt >= 0x7fffffff ? 1 : this.nextTtt + 1;
    while (this.r2ts.has(ttt)) ttt = ttt >= 0x7fffffff ? 1 : ttt + 1;
    return ttt;
  }

  private handleDataOut(h: Buffer, dataLength: number): void {
    const session = this.session!;
    const itt = h.readUInt32BE(16);
    const ttt = h.readUInt32BE(20);
    const dataSn = h.readUInt32BE(36);
    const final = (h[1] & FINAL_BIT) !== 0;
    const task = session.tasks.get(itt);
    if (!task) {
      if (!session.abortedTags.has(itt)) this.sendReject(RejectReason.InvalidPduField, h);
      return;
    }
    if (task.aborted) return;
    if (task.finished) return;
    if (!this.pendingDataOutOk) return this.dataSequenceError(h, task);
    if (ttt === RESERVED_TAG) {
      if (dataSn !== task.unsolicitedDataSn) return this.dataSequenceError(h, task);
      task.unsolicitedDataSn++;
      task.received += dataLength;
      task.unsolicitedExpected -= dataLength;
      if (final || task.unsolicitedExpected <= 0) {
        if (task.unsolicitedExpected !== 0 && final && task.received < Math.min(this.params!.firstBurstLength, task.expectedLength)) {
          // Initiator ended the unsolicited burst early: solicit the rest from where it stopped.
          task.nextR2tOffset = task.received;
        }
        task.unsolicitedExpected = 0;
        // Before its CmdSN turn, startTask picks the task up when the window delivers it.
        if (!task.delivered) return;
        if (task.received >= task.expectedLength) this.execute(task);
        else this.sendR2ts(task);
      }
      return;
    }
    const r2t = this.r2ts.get(ttt)!;
    if (dataSn !== r2t.dataSn) return this.dataSequenceError(h, task);
    r2t.dataSn++;
    r2t.received += dataLength;
    task.received += dataLength;
    if (final) {
      if (r2t.received !== r2t.length) return this.dataSequenceError(h, task);
      this.r2ts.delete(ttt);
      task.outstandingR2ts--;
      if (task.received >= task.expectedLength) this.execute(task);
      else this.sendR2ts(task);
    }
  }

  /**
   * A Data-Out that breaks the sequence (DataSN, offset, length): reject the PDU and end only that command
   * with ABORTED COMMAND / DATA PHASE ERROR; the session stays up and later Data-Out for it is dropped.
   */
  private dataSequenceError(h: Buffer, task: IscsiTask): void {
    this.log.warn({ conn: this.id, itt: task.itt, dataSn: h.readUInt32BE(36), offset: h.readUInt32BE(40) }, 'Data-Out sequence error: failing the command');
    this.sendReject(RejectReason.ProtocolError, h);
    for (const [ttt, r2t] of this.r2ts) if (r2t.task === task) this.r2ts.delete(ttt);
    this.session!.rememberAborted(task.itt);
    task.status = ScsiStatus.CheckCondition;
    task.sense = DATA_PHASE_ERROR_SENSE;
    task.dataInLength = 0;
    if (task.delivered) {
      this.complete(task);
    } else {
      // Its CmdSN turn has not come: finish quietly when the window delivers it.
      task.finished = true;
      this.session!.tasks.delete(task.itt);
      this.sendScsiResult(task);
      if (task.dataOut) dataBuffers.give(task.dataOut);
      task.dataOut = null;
    }
  }

  private execute(task: IscsiTask): void {
    const device = this.session!.target!.definition.device;
    task.executing = device.execute(task).then(
      () => this.complete(task),
      (err: Error) => {
        this.log.error({ conn: this.id, itt: task.itt, err: err.stack }, 'SCSI layer threw; answering CHECK CONDITION');
        task.status = ScsiStatus.CheckCondition;
        task.sense = HARDWARE_ERROR_SENSE;
        this.complete(task);
      },
    );
  }

  private complete(task: IscsiTask): void {
    const session = this.session;
    task.finished = true;
    task.executing = null;
    if (session) {
      session.tasks.delete(task.itt);
      if (!task.immediate) session.window.completed();
    }
    if (task.dataOut) {
      dataBuffers.give(task.dataOut);
      task.dataOut = null;
    }
    if (task.aborted || this.phase === 'closed') {
      if (task.dataInPooled) dataBuffers.give(task.dataIn);
      return;
    }
    this.sendScsiResult(task);
  }

  private sendScsiResult(task: IscsiTask): void {
    const edtl = task.expectedLength;
    const produced = task.dataInLength;
    let residualFlags = 0;
    let residual = 0;
    // Residuals compare what the CDB called for with what the initiator expected (RFC 7143 §11.4.5).
    const wanted = task.writeDirection ? task.dataOutWanted : produced;
    if (task.writeDirection || task.readDirection || produced > 0) {
      if (wanted > edtl) {
        residualFlags = 0x04;
        residual = wanted - edtl;
      } else if (wanted < edtl) {
        residualFlags = 0x02;
        residual = edtl - wanted;
      }
    }
    const toSend = Math.min(produced, edtl);
    const collapse = task.status === ScsiStatus.Good && toSend > 0 && task.sense === null;
    let dataInPdus = 0;
    if (toSend > 0 && task.dataIn) {
      const p = this.params!;
      const maxSeg = p.maxXmitDataSegmentLength;
      let offset = 0;
      let dataSn = 0;
      let burstLeft = p.maxBurstLength;
      while (offset < toSend) {
        const len = Math.min(maxSeg, toSend - offset, burstLeft);
        const last = offset + len >= toSend;
        burstLeft -= len;
        const endOfSequence = last || burstLeft === 0;
        const r = this.newHeader();
        r[0] = Opcode.DataIn;
        let f = endOfSequence ? 0x80 : 0;
        if (last && collapse) f |= 0x01 | residualFlags;
        r[1] = f;
        if (last && collapse) r[3] = task.status;
        r.writeUInt32BE(task.itt, 16);
        r.writeUInt32BE(RESERVED_TAG, 20);
        this.writeSequenceNumbers(r, last && collapse);
        r.writeUInt32BE(dataSn, 36);
        r.writeUInt32BE(offset, 40);
        if (last && collapse) r.writeUInt32BE(residual, 44);
        const release = last && task.dataInPooled ? task.dataIn : null;
        this.sendPdu(r, task.dataIn, offset, len, release);
        dataSn++;
        offset += len;
        if (burstLeft === 0) burstLeft = p.maxBurstLength;
      }
      dataInPdus = dataSn;
      if (collapse) return;
    } else if (task.dataInPooled) {
      dataBuffers.give(task.dataIn);
    }
    const r = this.newHeader();
    r[0] = Opcode.ScsiResponse;
    r[1] = 0x80 | residualFlags;
    r[2] = 0x00; // command completed at target
    r[3] = task.status;
    r.writeUInt32BE(task.itt, 16);
    this.writeSequenceNumbers(r, true);
    r.writeUInt32BE(dataInPdus, 36);
    r.writeUInt32BE(residual, 44);
    if (task.sense) {
      const body = Buffer.allocUnsafe(2 + task.sense.length);
      body.writeUInt16BE(task.sense.length, 0);
      task.sense.copy(body, 2);
      this.sendPdu(r, body, 0, body.length, null);
    } else {
      this.sendPdu(r, null, 0, 0, null);
    }
  }

  // ---------------------------------------------------------------- NOP, text, logout

  private handleNopOut(h: Buffer, data: Buffer): void {
    const itt = h.readUInt32BE(16);
    const ttt = h.readUInt32BE(20);
    const immediate = (h[0] & IMMEDIATE_BIT) !== 0;
    const cmdSn = h.readUInt32BE(24);
    if (itt === RESERVED_TAG) {
      // Answer to our ping (or a bare CmdSN update): nothing to send.
      if (ttt === this.pingTag) this.pingTag = RESERVED_TAG;
      return;
    }
    if (!immediate) {
      // A non-immediate NOP-Out takes a CmdSN slot.
      if (!this.session!.window.inWindow(cmdSn)) return;
      this.session!.window.consume(cmdSn);
    }
    const r = this.newHeader();
    r[0] = Opcode.NopIn;
    r[1] = 0x80;
    r.writeUInt32BE(h.readUInt32BE(8), 8);
    r.writeUInt32BE(h.readUInt32BE(12), 12);
    r.writeUInt32BE(itt, 16);
    r.writeUInt32BE(RESERVED_TAG, 20);
    this.writeSequenceNumbers(r, true);
    const echo = data.length > 0 ? Buffer.from(data) : null;
    this.sendPdu(r, echo, 0, echo ? echo.length : 0, null);
  }

  private handleText(h: Buffer, data: Buffer): void {
    const itt = h.readUInt32BE(16);
    const ttt = h.readUInt32BE(20);
    const immediate = (h[0] & IMMEDIATE_BIT) !== 0;
    const cmdSn = h.readUInt32BE(24);
    if (!immediate) {
      if (!this.session!.window.inWindow(cmdSn)) return;
      this.session!.window.consume(cmdSn);
    }
    if ((h[1] & 0x40) !== 0) {
      // Long initiator text is not something any real initiator sends; refuse rather than buffer without bound.
      this.sendReject(RejectReason.CommandNotSupported, h);
      return;
    }
    if (ttt !== RESERVED_TAG) {
      const pending = this.textPending;
      if (!pending || pending.ttt !== ttt) {
        this.sendReject(RejectReason.InvalidPduField, h);
        return;
      }
      this.sendTextChunk(itt);
      return;
    }
    this.textPending = null;
    let pairs: TextPairs;
    try {
      pairs = parseTextPairs(data);
    } catch {
      this.sendReject(RejectReason.ProtocolError, h);
      return;
    }
    const out: TextPairs = [];
    for (const [key, value] of pairs) {
      if (key === 'SendTargets') out.push(...this.server.sendTargets(value, this, this.session!));
      else out.push([key, 'NotUnderstood']);
    }
    this.textPending = { itt, ttt: this.allocateTtt(), data: encodeTextPairs(out), offset: 0 };
    this.sendTextChunk(itt);
  }

  private sendTextChunk(itt: number): void {
    const pending = this.textPending!;
    const maxSeg = this.params!.maxXmitDataSegmentLength;
    const len = Math.min(maxSeg, pending.data.length - pending.offset);
    const last = pending.offset + len >= pending.data.length;
    const r = this.newHeader();
    r[0] = Opcode.TextResponse;
    r[1] = last ? 0x80 : 0x40;
    r.writeUInt32BE(itt, 16);
    r.writeUInt32BE(last ? RESERVED_TAG : pending.ttt, 20);
    this.writeSequenceNumbers(r, true);
    this.sendPdu(r, pending.data, pending.offset, len, null);
    pending.offset += len;
    if (last) this.textPending = null;
  }

  private handleLogout(h: Buffer): void {
    const reason = h[1] & 0x7f;
    const immediate = (h[0] & IMMEDIATE_BIT) !== 0;
    const cmdSn = h.readUInt32BE(24);
    if (!immediate && this.session!.window.inWindow(cmdSn)) this.session!.window.consume(cmdSn);
    const cid = h.readUInt16BE(20);
    let response = 0;
    if (reason === LogoutReason.RemoveConnectionForRecovery) response = 2;
    else if (reason === LogoutReason.CloseConnection && cid !== this.cid) response = 1;
    else if (reason > 2) {
      this.sendReject(RejectReason.InvalidPduField, h);
      return;
    }
    const r = this.newHeader();
    r[0] = Opcode.LogoutResponse;
    r[1] = 0x80;
    r[2] = response;
    r.writeUInt32BE(h.readUInt32BE(16), 16);
    this.writeSequenceNumbers(r, true);
    r.writeUInt16BE(this.params!.defaultTime2Wait, 40);
    r.writeUInt16BE(this.params!.defaultTime2Retain, 42);
    this.sendPdu(r, null, 0, 0, null);
    if (response === 0) {
      this.log.info({ conn: this.id, tsih: this.session?.tsih, reason }, 'logout');
      this.phase = 'logged-out';
      this.closeAfterFlush();
    }
  }

  // ---------------------------------------------------------------- task management

  private handleTaskManagement(h: Buffer): void {
    const session = this.session!;
    const fn = h[1] & 0x7f;
    const itt = h.readUInt32BE(16);
    const rtt = h.readUInt32BE(20);
    const cmdSn = h.readUInt32BE(24);
    const refCmdSn = h.readUInt32BE(32);
    const immediate = (h[0] & IMMEDIATE_BIT) !== 0;
    const lun = decodeLun(h);
    if (!immediate) {
      if (!session.window.inWindow(cmdSn)) return;
      session.window.consume(cmdSn);
    }
    if (session.type === 'Discovery') {
      this.sendTmfResponse(itt, TmfResponse.Rejected);
      return;
    }
    const device = session.target!.definition.device;
    const respond = (code: TmfResponse, waitFor: IscsiTask[] = []) => {
      const pending = waitFor.map((t) => t.executing).filter((p): p is Promise<void> => p !== null);
      if (pending.length === 0) this.sendTmfResponse(itt, code);
      else void Promise.allSettled(pending).then(() => this.sendTmfResponse(itt, code));
    };
    switch (fn) {
      case TmfFunction.AbortTask: {
        const task = session.tasks.get(rtt);
        if (task && !task.finished) {
          this.abortTask(task);
          return respond(TmfResponse.FunctionComplete, [task]);
        }
        // Not seen yet but inside the window and older than this TMF: consider it received and gone.
        if (session.window.inWindow(refCmdSn) && snLessThan(refCmdSn, cmdSn)) {
          session.window.consume(refCmdSn);
          return respond(TmfResponse.FunctionComplete);
        }
        return respond(TmfResponse.TaskDoesNotExist);
      }
      case TmfFunction.AbortTaskSet:
      case TmfFunction.ClearTaskSet: {
        if (!device.hasLun(lun)) return respond(TmfResponse.LunDoesNotExist);
        const sessions = fn === TmfFunction.ClearTaskSet ? this.server.sessionsOfTarget(session.target!) : [session];
        const victims = sessions.flatMap((s) => [...s.tasks.values()].filter((t) => t.lun === lun && !t.finished && !t.immediate));
        victims.forEach((t) => t.connection.abortTask(t));
        return respond(TmfResponse.FunctionComplete, victims);
      }
      case TmfFunction.LogicalUnitReset: {
        if (!device.hasLun(lun)) return respond(TmfResponse.LunDoesNotExist);
        const victims = this.server.sessionsOfTarget(session.target!).flatMap((s) => [...s.tasks.values()].filter((t) => t.lun === lun && !t.finished));
        victims.forEach((t) => t.connection.abortTask(t));
        device.resetLun(lun);
        this.log.info({ conn: this.id, lun, aborted: victims.length }, 'logical unit reset');
        const replicated = device.resetSettled?.(lun) ?? null;
        if (replicated) return void replicated.then(() => respond(TmfResponse.FunctionComplete, victims));
        return respond(TmfResponse.FunctionComplete, victims);
      }
      case TmfFunction.TargetWarmReset:
      case TmfFunction.TargetColdReset: {
        const sessions = this.server.sessionsOfTarget(session.target!);
        const victims = sessions.flatMap((s) => [...s.tasks.values()].filter((t) => !t.finished));
        victims.forEach((t) => t.connection.abortTask(t));
        device.resetTarget();
        this.log.info({ conn: this.id, cold: fn === TmfFunction.TargetColdReset, aborted: victims.length }, 'target reset');
        const pending = victims.map((t) => t.executing).filter((p): p is Promise<void> => p !== null);
        void Promise.allSettled(pending).then(() => {
          this.sendTmfResponse(itt, TmfResponse.FunctionComplete);
          if (fn === TmfFunction.TargetColdReset) {
            // A cold reset ends every session of the target after the response.
            for (const s of sessions) for (const c of s.connections) c.closeAfterFlush();
          }
        });
        return;
      }
      case TmfFunction.TaskReassign:
        return respond(TmfResponse.ReassignmentNotSupported);
      case TmfFunction.ClearAca:
        return respond(TmfResponse.FunctionNotSupported);
      default:
        return respond(TmfResponse.FunctionNotSupported);
    }
  }

  abortTask(task: IscsiTask): void {
    if (task.aborted || task.finished) return;
    task.aborted = true;
    this.session?.rememberAborted(task.itt);
    for (const [ttt, r2t] of this.r2ts) if (r2t.task === task) this.r2ts.delete(ttt);
    if (!task.executing) {
      // Never reached the SCSI layer (waiting for data or its CmdSN turn): finish it now.
      task.finished = true;
      this.session?.tasks.delete(task.itt);
      if (!task.immediate && task.delivered) this.session?.window.completed();
      if (task.dataOut) dataBuffers.give(task.dataOut);
      task.dataOut = null;
    }
  }

  private sendTmfResponse(itt: number, response: TmfResponse): void {
    if (this.phase !== 'full-feature') return;
    const r = this.newHeader();
    r[0] = Opcode.TaskManagementResponse;
    r[1] = 0x80;
    r[2] = response;
    r.writeUInt32BE(itt, 16);
    this.writeSequenceNumbers(r, true);
    this.sendPdu(r, null, 0, 0, null);
  }

  // ---------------------------------------------------------------- keepalive, async, reject

  private checkAlive(): void {
    if (this.phase === 'login') {
      if (Date.now() - this.lastReceive > this.server.loginTimeoutMs) {
        this.log.warn({ conn: this.id, remote: this.remote }, 'login timed out: closing connection');
        this.close();
      }
      return;
    }
    if (this.phase !== 'full-feature') return;
    const now = Date.now();
    if (this.pingTag !== RESERVED_TAG) {
      if (now - this.pingSentAt > this.server.nopTimeoutMs && this.lastReceive < this.pingSentAt) {
        this.log.warn({ conn: this.id, remote: this.remote }, 'initiator did not answer NOP-In ping: dropping connection');
        this.close();
      }
      return;
    }
    if (now - this.lastReceive < this.server.nopIntervalMs) return;
    this.pingTag = this.allocateTtt();
    this.pingSentAt = now;
    const r = this.newHeader();
    r[0] = Opcode.NopIn;
    r[1] = 0x80;
    r.writeUInt32BE(RESERVED_TAG, 16);
    r.writeUInt32BE(this.pingTag, 20);
    this.writeSequenceNumbers(r, false);
    this.sendPdu(r, null, 0, 0, null);
  }

  /** Asks the initiator to log out within `seconds` (used on shutdown). */
  requestLogout(seconds: number): void {
    if (this.phase !== 'full-feature') return;
    const r = this.newHeader();
    r[0] = Opcode.AsyncMessage;
    r[1] = 0x80;
    r.writeUInt32BE(0xffffffff, 8);
    r.writeUInt32BE(0xffffffff, 12);
    r.writeUInt32BE(RESERVED_TAG, 16);
    this.writeSequenceNumbers(r, true);
    r[36] = AsyncEvent.LogoutRequested;
    r.writeUInt16BE(seconds, 42);
    this.sendPdu(r, null, 0, 0, null);
  }

  private sendReject(reason: RejectReason, h: Buffer): void {
    if (this.phase === 'closed') return;
    const r = this.newHeader();
    r[0] = Opcode.Reject;
    r[1] = 0x80;
    r[2] = reason;
    r.writeUInt32BE(RESERVED_TAG, 16);
    this.writeSequenceNumbers(r, true);
    const copy = Buffer.from(h.subarray(0, BHS_LENGTH));
    this.sendPdu(r, copy, 0, copy.length, null);
  }

  // ---------------------------------------------------------------- output

  private newHeader(): Buffer {
    const b = Buffer.allocUnsafe(BHS_LENGTH + DIGEST_LENGTH);
    b.fill(0, 0, BHS_LENGTH);
    return b;
  }

  private writeSequenceNumbers(r: Buffer, advanceStatSn: boolean): void {
    r.writeUInt32BE(this.statSn, 24);
    if (advanceStatSn) this.statSn = snAdd(this.statSn, 1);
    const w = this.session?.window;
    r.writeUInt32BE(w ? w.expCmdSn : 0, 28);
    r.writeUInt32BE(w ? w.maxCmdSn : 0, 32);
  }

  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(uncork, this);
  }

  /** Writes one PDU: header (with digest), data slice, padding, data digest. `release` goes back to the pool after the write. */
  private sendPdu(header: Buffer, data: Buffer | null, offset: number, length: number, release: Buffer | null): void {
    if (this.phase === 'closed' || this.socket.destroyed) {
      if (release) dataBuffers.give(release);
      return;
    }
    header[5] = (length >> 16) & 0xff;
    header[6] = (length >> 8) & 0xff;
    header[7] = length & 0xff;
    this.cork();
    const hd = this.phase === 'full-feature' && this.reader.headerDigest;
    if (hd) header.writeUInt32LE(crc32c(header.subarray(0, BHS_LENGTH)) >>> 0, BHS_LENGTH);
    this.socket.write(hd ? header : header.subarray(0, BHS_LENGTH));
    if (length > 0 && data) {
      const slice = data.subarray(offset, offset + length);
      const pad = (4 - (length & 3)) & 3;
      if (release) this.socket.write(slice, () => dataBuffers.give(release));
      else this.socket.write(slice);
      if (pad) this.socket.write(PADDING.subarray(0, pad));
      if (this.phase === 'full-feature' && this.reader.dataDigest) {
        let crc = crc32c(slice);
        if (pad) crc = crc32c(PADDING.subarray(0, pad), crc);
        const d = Buffer.allocUnsafe(4);
        d.writeUInt32LE(crc >>> 0, 0);
        this.socket.write(d);
      }
    } else if (release) {
      dataBuffers.give(release);
    }
  }

  // ---------------------------------------------------------------- teardown

  closeAfterFlush(): void {
    if (this.phase === 'closed') return;
    if (this.phase !== 'logged-out') this.phase = 'logged-out';
    this.socket.end();
    // Do not wait forever on a peer that stopped reading.
    setTimeout(() => this.close(), 2000).unref();
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.closed();
  }

  private closed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    this.dropPendingBuffer();
    const session = this.session;
    this.r2ts.clear();
    if (session) {
      for (const t of session.tasks.values()) if (t.connection === this) this.abortTask(t);
      this.server.connectionClosed(this, session);
    } else {
      this.server.connectionClosed(this, null);
    }
  }
}

function uncork(c: IscsiConnection): void {
  (c as unknown as { corked: boolean }).corked = false;
  (c as unknown as { socket: Socket }).socket.uncork();
}

/** Single-level LUN from the 8-byte LUN field (peripheral and flat addressing). */
export function decodeLun(h: Buffer): number {
  const b0 = h[8];
  const method = b0 >> 6;
  if (method === 0) return h[9];
  if (method === 1) return ((b0 & 0x3f) << 8) | h[9];
  return 0xffff; // unsupported addressing: no such LUN
}

function extendedCdb(h: Buffer, ahsLength: number): Buffer {
  // Extended CDB AHS (type 1): CDB bytes 16.. follow the 16 in the BHS.
  const ahsStart = BHS_LENGTH;
  const len = h.readUInt16BE(ahsStart);
  const type = h[ahsStart + 2];
  if (type !== 1 || len < 2 || len - 1 + 4 > ahsLength) return Buffer.from(h.subarray(32, 48));
  return Buffer.concat([h.subarray(32, 48), h.subarray(ahsStart + 4, ahsStart + 4 + len - 1)]);
}

function fixedSense(key: number, asc: number, ascq: number): Buffer {
  const s = Buffer.alloc(18);
  s[0] = 0x70;
  s[2] = key;
  s[7] = 10;
  s[12] = asc;
  s[13] = ascq;
  return s;
}

const HARDWARE_ERROR_SENSE = fixedSense(0x04, 0x44, 0x00); // INTERNAL TARGET FAILURE
const DATA_PHASE_ERROR_SENSE = fixedSense(0x0b, 0x4b, 0x00); // ABORTED COMMAND / DATA PHASE ERROR
const INVALID_FIELD_IN_CDB_SENSE = fixedSense(0x05, 0x24, 0x00); // ILLEGAL REQUEST / INVALID FIELD IN CDB
