/**
 * PERSISTENT RESERVE OUT (SPC-4 6.17): decodes the CDB and parameter list into a `PrOutOperation`,
 * applies it to the LU's `PersistentReservations`, makes the result durable when APTPL asks for it,
 * and only then raises the unit attentions, aborts preempted tasks and answers GOOD.
 * PR OUT commands of one LU run one at a time, so each is persisted before the next one applies.
 */
import { LogicalUnit, PR_LOCK_LBA, type PrReplicator } from './logicalUnit';
import { failStoreError } from './readWrite';
import {
  PrNexus,
  PrOperation,
  PrOutOperation,
  PrOutcome,
  PrResult,
  PrType,
  TransportId,
  isPrType,
  keyFromBuffer,
  matches,
} from './persistentReservations';
import { removePrState, savePrState } from './prStateFile';
import { Asc, SenseKey, reservationConflict } from './sense';
import { ItNexus, ScsiTask } from './task';

export const enum PrOutAction {
  Register = 0x00,
  Reserve = 0x01,
  Release = 0x02,
  Clear = 0x03,
  Preempt = 0x04,
  PreemptAndAbort = 0x05,
  RegisterAndIgnoreExistingKey = 0x06,
  RegisterAndMove = 0x07,
}

/** SCSI transport protocol identifier of iSCSI in TransportIDs (SPC-4 7.6.1). */
export const ISCSI_PROTOCOL_ID = 0x5;
const BASIC_LIST_LENGTH = 24;

export function persistentReserveOut(lu: LogicalUnit, task: ScsiTask): void | Promise<void> {
  const op = decode(lu, task);
  if (op === null) return;
  const nexus = task.nexus;
  const run = lu.prOutQueue.then(() => execute(lu, task, op, nexus));
  lu.prOutQueue = run.catch(() => undefined);
  return run;
}

async function execute(lu: LogicalUnit, task: ScsiTask, op: PrOutOperation, nexus: ItNexus): Promise<void> {
  const replicator = lu.prReplicator;
  if (replicator === null) return executeHere(lu, task, op, nexus, null);
  // A HA replica: one PR OUT at a time across every replica, so all apply them in the same order.
  const slot = await lu.lbaLock.acquire(PR_LOCK_LBA, 1);
  try {
    return await executeHere(lu, task, op, nexus, replicator);
  } finally {
    lu.lbaLock.release(slot);
  }
}

async function executeHere(lu: LogicalUnit, task: ScsiTask, op: PrOutOperation, nexus: ItNexus, replicator: PrReplicator | null): Promise<void> {
  const reservations = lu.reservations;
  const before = lu.prStatePath !== null || replicator !== null ? reservations.snapshot() : null;
  const result = reservations.apply(op, nexus);
  if (result.outcome !== PrOutcome.Good) return failWith(lu, task, result);
  if (result.changed && before !== null) {
    try {
      await persistReservations(lu);
    } catch {
      // Not durable: as if the command never ran.
      reservations.restore(before);
      return lu.fail(task, SenseKey.HardwareError, Asc.InternalTargetFailure);
    }
    if (replicator !== null) {
      try {
        await replicator.replicate(op, { initiatorPortName: nexus.initiatorPortName, targetPortName: nexus.targetPortName, relativeTargetPortId: nexus.relativeTargetPortId });
      } catch (err) {
        reservations.restore(before);
        await persistReservations(lu).catch(() => undefined);
        return failStoreError(lu, task, err, Asc.InternalTargetFailure);
      }
    }
  }
  deliverReservationEffects(lu, result, nexus);
}

/**
 * Applies an operation that needs no persistence (RESERVE(6), nexus loss, reset, or one replicated from a
 * partner after it persisted it there) and raises its effects on the local nexuses.
 */
export function applyReservationOperation(lu: LogicalUnit, op: PrOperation, nexus: PrNexus & { id?: string }): PrResult {
  const result = lu.reservations.apply(op, nexus);
  if (result.outcome === PrOutcome.Good) deliverReservationEffects(lu, result, nexus);
  return result;
}

/** Writes (APTPL set) or removes (APTPL clear) the LU's saved reservation state; resolves once durable. */
export async function persistReservations(lu: LogicalUnit): Promise<void> {
  const path = lu.prStatePath;
  if (path === null) return;
  const snapshot = lu.reservations.powerLossSnapshot();
  if (snapshot !== null) await savePrState(path, snapshot);
  else await removePrState(path);
}

/** Unit attentions to the matching local nexuses (never the sender), and PREEMPT AND ABORT's task aborts. */
export function deliverReservationEffects(lu: LogicalUnit, result: PrResult, sender: { id?: string }): void {
  for (const { to, code } of result.attentions) {
    for (const n of lu.nexuses.values()) {
      if (n.id !== sender.id && matches(to, n)) lu.unitAttentions.raise(n.id, code as number);
    }
  }
  if (result.abort.length > 0 && lu.abortTasksOf !== null) {
    const ids = [...lu.nexuses.values()].filter((n) => n.id !== sender.id && result.abort.some((p) => matches(p, n))).map((n) => n.id);
    if (ids.length > 0) lu.abortTasksOf(ids);
  }
}

function failWith(lu: LogicalUnit, task: ScsiTask, result: PrResult): void {
  const field = result.field;
  switch (result.outcome) {
    case PrOutcome.ReservationConflict:
      return reservationConflict(task);
    case PrOutcome.InvalidFieldInCdb:
      return lu.invalidFieldInCdb(task, field?.byte ?? 0, field?.bit);
    case PrOutcome.InvalidFieldInParameterList:
      return lu.invalidFieldInParameterList(task, field?.byte ?? 0, field?.bit);
    case PrOutcome.InvalidRelease:
      return lu.fail(task, SenseKey.IllegalRequest, Asc.InvalidReleaseOfPersistentReservation);
    case PrOutcome.InsufficientRegistrationResources:
      return lu.fail(task, SenseKey.IllegalRequest, Asc.InsufficientRegistrationResources);
    default:
      return lu.fail(task, SenseKey.HardwareError, Asc.InternalTargetFailure);
  }
}

// ---- decoding (SPC-4 6.17.1 - 6.17.4) ----

/** The operation the command asks for, or null when the task already failed (bad CDB or parameter list). */
export function decode(lu: LogicalUnit, task: ScsiTask): PrOutOperation | null {
  const cdb = task.cdb;
  const action = cdb[1] & 0x1f;
  const scope = cdb[2] >> 4;
  const type = cdb[2] & 0x0f;
  const listLength = cdb.readUInt32BE(5);
  task.dataOutWanted = listLength;
  const dataOut = task.dataOut;
  const received = dataOut === null ? 0 : Math.min(task.dataOutLength, dataOut.length, listLength);
  const list = dataOut === null ? Buffer.alloc(0) : dataOut.subarray(0, received);
  const lengthError = (): null => {
    lu.fail(task, SenseKey.IllegalRequest, Asc.ParameterListLengthError);
    return null;
  };
  const badCdb = (byte: number, bit?: number): null => {
    lu.invalidFieldInCdb(task, byte, bit);
    return null;
  };
  const badList = (byte: number, bit?: number): null => {
    lu.invalidFieldInParameterList(task, byte, bit);
    return null;
  };

  const usesType =
    action === PrOutAction.Reserve ||
    action === PrOutAction.Release ||
    action === PrOutAction.Preempt ||
    action === PrOutAction.PreemptAndAbort ||
    action === PrOutAction.RegisterAndMove;
  if (usesType) {
    if (scope !== 0) return badCdb(2, 7); // LU_SCOPE only
    if (!isPrType(type)) return badCdb(2, 3);
  }
  if (listLength < BASIC_LIST_LENGTH || received < listLength) return lengthError();
  const reservationKey = keyFromBuffer(list, 0);
  const serviceActionKey = keyFromBuffer(list, 8);

  if (action === PrOutAction.RegisterAndMove) {
    const unregister = (list[17] & 0x02) !== 0;
    const aptpl = (list[17] & 0x01) !== 0;
    if (aptpl && lu.prStatePath === null) return badList(17, 0);
    const relativeTargetPortId = list.readUInt16BE(18);
    const transportIdLength = list.readUInt32BE(20);
    if (BASIC_LIST_LENGTH + transportIdLength !== listLength) return lengthError();
    const parsed = parseTransportId(list, BASIC_LIST_LENGTH, listLength);
    if (typeof parsed === 'number') return badList(parsed);
    if (parsed.next !== listLength) return lengthError();
    if (relativeTargetPortId === 0) return badList(18);
    return {
      kind: 'registerAndMove',
      reservationKey,
      serviceActionKey,
      type: type as PrType,
      unregister,
      aptpl,
      transportId: parsed.id,
      targetPortName: targetPortNameFor(task.nexus, relativeTargetPortId),
      relativeTargetPortId,
    };
  }

  const specIPT = (list[20] & 0x08) !== 0;
  const allTargetPorts = (list[20] & 0x04) !== 0;
  const aptpl = (list[20] & 0x01) !== 0;
  const registers = action === PrOutAction.Register || action === PrOutAction.RegisterAndIgnoreExistingKey;
  if (specIPT && action !== PrOutAction.Register) return badList(20, 3);
  if (!specIPT && listLength !== BASIC_LIST_LENGTH) return lengthError();
  const transportIds: TransportId[] = [];
  if (specIPT) {
    if (listLength < BASIC_LIST_LENGTH + 4) return lengthError();
    const end = BASIC_LIST_LENGTH + 4 + list.readUInt32BE(BASIC_LIST_LENGTH);
    if (end !== listLength) return lengthError();
    let at = BASIC_LIST_LENGTH + 4;
    while (at < end) {
      const parsed = parseTransportId(list, at, end);
      if (typeof parsed === 'number') return badList(parsed);
      transportIds.push(parsed.id);
      at = parsed.next;
    }
    if (transportIds.length === 0) return badList(BASIC_LIST_LENGTH);
  }
  if (registers && aptpl && lu.prStatePath === null) return badList(20, 0);

  switch (action) {
    case PrOutAction.Register:
    case PrOutAction.RegisterAndIgnoreExistingKey:
      return {
        kind: 'register',
        ignoreExistingKey: action === PrOutAction.RegisterAndIgnoreExistingKey,
        reservationKey,
        serviceActionKey,
        allTargetPorts,
        aptpl,
        transportIds,
      };
    case PrOutAction.Reserve:
      return { kind: 'reserve', reservationKey, type: type as PrType };
    case PrOutAction.Release:
      return { kind: 'release', reservationKey, type: type as PrType };
    case PrOutAction.Clear:
      return { kind: 'clear', reservationKey };
    case PrOutAction.Preempt:
    case PrOutAction.PreemptAndAbort:
      return { kind: 'preempt', abort: action === PrOutAction.PreemptAndAbort, reservationKey, serviceActionKey, type: type as PrType };
    default:
      return badCdb(1, 4);
  }
}

/**
 * One iSCSI TransportID at `at` (SPC-4 7.6.4.6): FORMAT CODE 00b is an iSCSI name, 01b a name followed by
 * ",i,0x" and the ISID. Returns the id and where the next one starts, or the byte offset of the bad field.
 */
export function parseTransportId(list: Buffer, at: number, end: number): { id: TransportId; next: number } | number {
  if (end - at < 24) return at;
  const format = list[at] >> 6;
  if ((list[at] & 0x0f) !== ISCSI_PROTOCOL_ID || (list[at] & 0x30) !== 0) return at;
  if (format !== 0 && format !== 1) return at;
  const additional = list.readUInt16BE(at + 2);
  const next = at + 4 + additional;
  if (additional < 20 || additional % 4 !== 0 || next > end) return at + 2;
  const raw = list.subarray(at + 4, next);
  const nul = raw.indexOf(0);
  if (nul <= 0) return at + 4;
  const text = raw.toString('utf8', 0, nul);
  if (format === 0) {
    if (text.includes(',')) return at + 4;
    return { id: { name: text.toLowerCase(), isid: null }, next };
  }
  const sep = text.toLowerCase().lastIndexOf(',i,0x');
  if (sep <= 0) return at + 4;
  const isid = text.slice(sep + 5).toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(isid)) return at + 4;
  return { id: { name: text.slice(0, sep).toLowerCase(), isid }, next };
}

/** Encodes an iSCSI TransportID: format 01b with an ISID, 00b without; NUL-terminated, padded to 4 (min 24). */
export function encodeTransportId(id: TransportId): Buffer {
  const text = id.isid === null ? id.name : `${id.name},i,0x${id.isid}`;
  const bytes = Buffer.byteLength(text, 'utf8') + 1;
  const additional = Math.max(20, Math.ceil(bytes / 4) * 4);
  const out = Buffer.alloc(4 + additional);
  out[0] = ((id.isid === null ? 0 : 1) << 6) | ISCSI_PROTOCOL_ID;
  out.writeUInt16BE(additional, 2);
  out.write(text, 4, 'utf8');
  return out;
}

/** iSCSI target port names are "<target name>,t,0x<TPGT>" and the relative port id is the TPGT. */
function targetPortNameFor(nexus: ItNexus, relativeTargetPortId: number): string {
  if (nexus.relativeTargetPortId === relativeTargetPortId) return nexus.targetPortName;
  return `${nexus.targetName},t,0x${relativeTargetPortId.toString(16).padStart(4, '0')}`;
}
