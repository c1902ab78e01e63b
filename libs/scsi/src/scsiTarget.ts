/**
 * A SCSI target device: the LUN map and the command dispatcher the transport calls. Commands go
 * through an opcode-indexed table after the checks every command shares (LU present, unit
 * attention, CDB length, NACA).
 */
import { dataBuffers } from '@tandem/storage';
import { AluaAccessState, TargetPortGroup, aluaRefusal } from './alua';
import { COMMANDS, DispatchEntry, buildDispatchTable } from './commands';
import { Opcode } from './cdb';
import { inquiry } from './inquiry';
import { LogicalUnit, trackNexus } from './logicalUnit';
import { LuRegistry } from './luRegistry';
import { AccessClass } from './persistentReservations';
import { applyReservationOperation } from './persistentReserveOut';
import { reportLuns } from './reportLuns';
import { requestSense } from './requestSense';
import { Asc, SenseKey, buildSense, checkCondition, reservationConflict } from './sense';
import { ItNexus, ScsiTargetDevice, ScsiTask, TaskAborter } from './task';

/** Commands that change the medium (refused by a write-protected LU). */
const MEDIUM_CHANGING = new Set<number>([
  Opcode.Write6, Opcode.Write10, Opcode.Write12, Opcode.Write16,
  Opcode.WriteAndVerify10, Opcode.WriteAndVerify12, Opcode.WriteAndVerify16,
  Opcode.WriteSame10, Opcode.WriteSame16, Opcode.Unmap, Opcode.CompareAndWrite,
]);

export interface ScsiTargetOptions {
  /** LUs presented from the start, as [lun, lu] pairs. */
  luns?: Iterable<readonly [number, LogicalUnit]>;
  /** Aborts tasks of preempted nexuses (PREEMPT AND ABORT); the transport may also install it later. */
  abortTasksOf?: TaskAborter;
  /**
   * The node's LUs by designator, where EXTENDED COPY finds copy sources and destinations; the target registers
   * its LUs there. A node gives all its targets one registry; without one the target keeps its own.
   */
  registry?: LuRegistry;
  /** Target port groups the target is exported through; the transport normally sets them (`setTargetPortGroups`). */
  targetPortGroups?: readonly TargetPortGroup[];
}

/** Resets name no nexus. */
const NO_NEXUS = { initiatorPortName: '', targetPortName: '', relativeTargetPortId: 0 };

/** SAM-5 flat space addressing reaches 16383. */
export const MAX_LUN = 0x3fff;

export class ScsiTarget implements ScsiTargetDevice {
  private readonly units = new Map<number, LogicalUnit>();
  private sortedLuns: number[] = [];
  private readonly knownNexuses = new Map<string, ItNexus>();
  private readonly dispatch: readonly (DispatchEntry | undefined)[] = buildDispatchTable(COMMANDS);
  private taskAborter: TaskAborter | null = null;
  readonly registry: LuRegistry;
  private portGroups: readonly TargetPortGroup[] = [];

  constructor(options: ScsiTargetOptions = {}) {
    this.taskAborter = options.abortTasksOf ?? null;
    this.registry = options.registry ?? new LuRegistry();
    this.portGroups = options.targetPortGroups ?? [];
    for (const [lun, lu] of options.luns ?? []) this.addLun(lun, lu);
  }

  // ---- LUN map ----

  /** Presents a LU at a LUN, live; initiators see REPORTED LUNS DATA HAS CHANGED on the other LUs. */
  addLun(lun: number, lu: LogicalUnit): void {
    if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) throw new RangeError(`LUN ${lun} is not between 0 and ${MAX_LUN}`);
    if (this.units.has(lun)) throw new Error(`LUN ${lun} is already in use`);
    for (const nexus of this.knownNexuses.values()) trackNexus(lu, nexus);
    lu.abortTasksOf = (nexusIds) => this.taskAborter?.(lun, nexusIds);
    if (this.portGroups.length > 0) lu.alua.setPortGroups(this.portGroups);
    this.raiseOnAll(Asc.ReportedLunsDataHasChanged);
    this.units.set(lun, lu);
    this.registry.add(lu);
    this.sortedLuns = [...this.units.keys()].sort((a, b) => a - b);
  }

  /** Withdraws a LUN, live; commands to it fail with LOGICAL UNIT NOT SUPPORTED from now on. */
  removeLun(lun: number): LogicalUnit | undefined {
    const lu = this.units.get(lun);
    if (!lu) return undefined;
    this.units.delete(lun);
    this.registry.remove(lu);
    lu.abortTasksOf = null;
    this.sortedLuns = this.sortedLuns.filter((l) => l !== lun);
    this.raiseOnAll(Asc.ReportedLunsDataHasChanged);
    return lu;
  }

  getLun(lun: number): LogicalUnit | undefined {
    return this.units.get(lun);
  }

  /** Grows a LU's store online; its initiators see CAPACITY DATA HAS CHANGED. */
  async growLun(lun: number, newSizeBytes: number): Promise<void> {
    const lu = this.units.get(lun);
    if (!lu) throw new Error(`LUN ${lun} does not exist`);
    await lu.grow(newSizeBytes);
  }

  // ---- ALUA ----

  /**
   * The target port groups REPORT TARGET PORT GROUPS lists for every LU: the transport sets the local ones
   * (one per portal group); the HA layer may add its partners' groups.
   */
  setTargetPortGroups(groups: readonly TargetPortGroup[]): void {
    this.portGroups = [...groups];
    for (const lu of this.units.values()) lu.alua.setPortGroups(this.portGroups);
  }

  targetPortGroups(): readonly TargetPortGroup[] {
    return this.portGroups;
  }

  /**
   * Sets the access state of a LU through one target port group (implicit ALUA: config, API, HA); every nexus
   * of the LU gets ASYMMETRIC ACCESS STATE CHANGED. Returns false when nothing changed.
   */
  setAccessState(lun: number, groupId: number, state: AluaAccessState): boolean {
    const lu = this.units.get(lun);
    if (!lu) throw new Error(`LUN ${lun} does not exist`);
    return lu.setAccessState(groupId, state);
  }

  // ---- ScsiTargetDevice ----

  luns(): number[] {
    return [...this.sortedLuns];
  }

  hasLun(lun: number): boolean {
    return this.units.has(lun);
  }

  nexusLoggedIn(nexus: ItNexus): void {
    // A nexus seen before lost its connection in between: I_T NEXUS LOSS rather than POWER ON.
    const lost = this.knownNexuses.has(nexus.id);
    const code = lost ? Asc.ItNexusLossOccurred : Asc.PowerOnResetOrBusDeviceReset;
    this.knownNexuses.set(nexus.id, nexus);
    for (const lu of this.units.values()) {
      if (lost) applyReservationOperation(lu, { kind: 'nexusLost' }, nexus);
      trackNexus(lu, nexus);
      lu.unitAttentions.raise(nexus.id, code);
    }
  }

  nexusLost(nexus: ItNexus): void {
    for (const lu of this.units.values()) {
      applyReservationOperation(lu, { kind: 'nexusLost' }, nexus);
      // A HA replica: the nexus's RESERVE(6) ends on the partner too (best effort: the nexus is gone either way).
      if (lu.prReplicator !== null) {
        const { initiatorPortName, targetPortName, relativeTargetPortId } = nexus;
        lu.prReplicator.replicate({ kind: 'nexusLost' }, { initiatorPortName, targetPortName, relativeTargetPortId }).catch(() => undefined);
      }
    }
  }

  setTaskAborter(abort: TaskAborter): void {
    this.taskAborter = abort;
  }

  resetLun(lun: number): boolean {
    const lu = this.units.get(lun);
    if (!lu) return false;
    lu.reset();
    return true;
  }

  resetSettled(lun: number): Promise<void> | null {
    const lu = this.units.get(lun);
    const pending = lu?.resetReplication ?? null;
    if (lu) lu.resetReplication = null;
    return pending;
  }

  resetTarget(): void {
    for (const lu of this.units.values()) {
      lu.modePages.resetToDefaults();
      applyReservationOperation(lu, { kind: 'reset' }, NO_NEXUS); // RESERVE(6) ends with a hard reset
      lu.unitAttentions.raiseAll(Asc.PowerOnResetOrBusDeviceReset);
    }
  }

  async execute(task: ScsiTask): Promise<void> {
    const observer = this.units.get(task.lun)?.observer ?? null;
    const startedAt = observer === null ? 0 : observer.started();
    try {
      const pending = this.dispatchTask(task);
      if (pending !== undefined) await pending;
    } catch {
      // A bug, not an I/O error (handlers map those to sense): fail the command, keep the target up.
      if (task.dataInPooled) dataBuffers.give(task.dataIn);
      task.dataIn = null;
      task.dataInPooled = false;
      checkCondition(task, buildSense(SenseKey.HardwareError, Asc.InternalTargetFailure));
    }
    observer?.completed(task, startedAt);
  }

  // ---- dispatch ----

  private dispatchTask(task: ScsiTask): void | Promise<void> {
    const cdb = task.cdb;
    const opcode = cdb.length > 0 ? cdb[0] : -1;
    const nexus = task.nexus;
    if (nexus !== undefined && !this.knownNexuses.has(nexus.id)) this.nexusLoggedIn(nexus);
    const lu = this.units.get(task.lun);

    // INQUIRY, REPORT LUNS and REQUEST SENSE neither report nor clear unit attentions (SPC-4 5.14);
    // REQUEST SENSE reports one in its parameter data instead.
    if (opcode === Opcode.ReportLuns) return this.reportLuns(lu, task);
    if (lu === undefined) return this.executeWithoutLu(task, opcode);
    if (opcode === Opcode.Inquiry) return inquiry(lu, task);
    if (opcode === Opcode.RequestSense) return requestSense(lu, task);

    if (nexus !== undefined) {
      const attention = lu.unitAttentions.take(nexus.id);
      if (attention >= 0) return lu.fail(task, SenseKey.UnitAttention, attention);
    }
    const entry = opcode >= 0 ? this.dispatch[opcode] : undefined;
    if (entry === undefined) return lu.fail(task, SenseKey.IllegalRequest, Asc.InvalidCommandOperationCode);
    const cdbLength = entry.cdbLength;
    if (cdb.length < cdbLength) return lu.invalidFieldInCdb(task, cdb.length);
    // NACA in the CONTROL byte: ACA is not supported.
    if (cdb[cdbLength - 1] & 0x04) return lu.invalidFieldInCdb(task, cdbLength - 1, 2);
    // One place for ALUA access state checks; the class comes from the command table.
    if (nexus !== undefined && !lu.alua.allActive) {
      const allowed = entry.serviceActionAlua === null ? entry.alua : entry.serviceActionAlua[cdb[1] & 0x1f];
      const refusal = aluaRefusal(lu.alua.stateOf(nexus.targetPortGroupId), allowed);
      if (refusal >= 0) return lu.fail(task, SenseKey.NotReady, refusal);
    }
    // One place for reservation conflicts; the flag comes from the command table.
    if (nexus !== undefined && lu.reservations.active) {
      const access = entry.serviceActionAccess === null ? entry.access : entry.serviceActionAccess[cdb[1] & 0x1f];
      if (access !== AccessClass.Reservation && lu.reservations.conflicts(nexus, access)) return reservationConflict(task);
    }
    // A write-protected LU refuses whatever would change its medium (SBC-3 4.11).
    if (lu.readOnly && MEDIUM_CHANGING.has(opcode)) return lu.fail(task, SenseKey.DataProtect, Asc.WriteProtected);
    return entry.handler(lu, task);
  }

  private executeWithoutLu(task: ScsiTask, opcode: number): void {
    if (opcode === Opcode.Inquiry) return inquiry(null, task);
    if (opcode === Opcode.RequestSense) return requestSense(null, task);
    checkCondition(task, buildSense(SenseKey.IllegalRequest, Asc.LogicalUnitNotSupported));
  }

  private reportLuns(lu: LogicalUnit | undefined, task: ScsiTask): void {
    if (!reportLuns(this.sortedLuns, task)) {
      const descriptor = lu?.modePages.descriptorSense ?? false;
      return checkCondition(
        task,
        buildSense(SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, descriptor, undefined, { inCdb: true, byte: 2 }),
      );
    }
    // SPC-4: REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED for the nexus that sent it.
    if (task.nexus !== undefined) {
      for (const unit of this.units.values()) unit.unitAttentions.clear(task.nexus.id, Asc.ReportedLunsDataHasChanged);
    }
  }

  private raiseOnAll(code: Asc): void {
    for (const lu of this.units.values()) lu.unitAttentions.raiseAll(code);
  }
}
