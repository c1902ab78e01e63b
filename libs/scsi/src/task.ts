/**
 * The contract between a SCSI transport (libs/iscsi) and the SCSI command layer (this lib).
 * The transport fills the inputs of a ScsiTask, awaits `ScsiTargetDevice.execute(task)`, then sends
 * min(dataInLength, expectedLength) bytes of dataIn, the status, the sense data and the residuals.
 */

export const enum ScsiStatus {
  Good = 0x00,
  CheckCondition = 0x02,
  ConditionMet = 0x04,
  Busy = 0x08,
  ReservationConflict = 0x18,
  TaskSetFull = 0x28,
  AcaActive = 0x30,
  TaskAborted = 0x40,
}

export const enum TaskAttribute {
  Untagged = 0,
  Simple = 1,
  Ordered = 2,
  HeadOfQueue = 3,
  Aca = 4,
}

/** One I_T nexus: an initiator port (iSCSI: initiator name + ISID) seen through one target port. */
export interface ItNexus {
  /** Stable key, unique per (initiator port, target port). */
  readonly id: string;
  readonly initiatorName: string;
  /** SCSI initiator port name, e.g. "iqn.1994-05.com.example:host,i,0x23d000000001". */
  readonly initiatorPortName: string;
  readonly targetName: string;
  /** SCSI target port name, e.g. "iqn.2026-11.io.tandem:demo,t,0x0001". */
  readonly targetPortName: string;
  /** Relative target port identifier (1-based), reported in VPD 0x83. */
  readonly relativeTargetPortId: number;
  /** Target port group (ALUA); one per node and portal group. */
  readonly targetPortGroupId: number;
}

export class ScsiTask {
  // ---- inputs, set by the transport ----
  nexus!: ItNexus;
  lun = 0;
  cdb: Buffer = EMPTY;
  attribute: TaskAttribute = TaskAttribute.Simple;
  /** Initiator task tag, for logs and task management. */
  tag = 0;
  /** Expected data transfer length the initiator announced (bytes). */
  expectedLength = 0;
  /** True when the initiator announced a transfer towards the target (iSCSI W bit). */
  writeDirection = false;
  /** True when the initiator announced a transfer towards the initiator (iSCSI R bit). */
  readDirection = false;
  /** Data-Out received from the initiator; `dataOutLength` bytes are valid (== expectedLength for writes). */
  dataOut: Buffer | null = null;
  dataOutLength = 0;

  // ---- outputs, set by the SCSI layer ----
  status: ScsiStatus = ScsiStatus.Good;
  /** Fixed-format sense data (18 bytes or more) when status is CHECK CONDITION. */
  sense: Buffer | null = null;
  /** Data-In. When taken from `dataBuffers` the layer sets `dataInPooled` and the transport gives it back. */
  dataIn: Buffer | null = null;
  dataInPooled = false;
  /** Bytes the command produced; larger than expectedLength means overflow, smaller means underflow. */
  dataInLength = 0;
  /**
   * Data-Out bytes the CDB itself calls for (WRITE, VERIFY with BYTCHK, MODE SELECT ...); 0 for other commands.
   * Compared with expectedLength it gives the residual of a write, as dataInLength does for a read.
   */
  dataOutWanted = 0;

  // ---- task management ----
  /** Set by ABORT TASK and friends; the transport then sends no response for it. */
  aborted = false;

  reset(): void {
    this.cdb = EMPTY;
    this.lun = 0;
    this.tag = 0;
    this.attribute = TaskAttribute.Simple;
    this.expectedLength = 0;
    this.writeDirection = false;
    this.readDirection = false;
    this.dataOut = null;
    this.dataOutLength = 0;
    this.status = ScsiStatus.Good;
    this.sense = null;
    this.dataIn = null;
    this.dataInPooled = false;
    this.dataInLength = 0;
    this.dataOutWanted = 0;
    this.aborted = false;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * What the transport sees of a SCSI target: a set of logical units behind one target name.
 * Task management functions map onto these calls.
 */
export interface ScsiTargetDevice {
  /** Executes a command; never rejects (failures become CHECK CONDITION with sense). */
  execute(task: ScsiTask): Promise<void>;
  /** LUNs that exist, in ascending order. */
  luns(): number[];
  hasLun(lun: number): boolean;
  /** A nexus logged in for the first time since power-on: it gets a POWER ON OCCURRED unit attention. */
  nexusLoggedIn(nexus: ItNexus): void;
  /** LOGICAL UNIT RESET: raises BUS DEVICE RESET FUNCTION OCCURRED on every nexus; false for an unknown LUN. */
  resetLun(lun: number): boolean;
  /**
   * After resetLun: resolves once the reset reached the LU's other replicas (a HA device), so that every path
   * reports the unit attention by the time the initiator gets the TMF response; null when there is nothing to wait for.
   */
  resetSettled?(lun: number): Promise<void> | null;
  /** TARGET WARM/COLD RESET: raises the reset unit attention on every LU and nexus. */
  resetTarget(): void;
  /**
   * I_T nexus loss: the session of this nexus ended (logout, dropped connection, reinstatement). Releases its
   * RESERVE(6) reservations; persistent reservations stay (SPC-4 5.13.1).
   */
  nexusLost(nexus: ItNexus): void;
  /**
   * Installs the transport's task aborter: PREEMPT AND ABORT calls it with the LUN and the I_T nexuses whose
   * tasks on that LUN must end as aborted (SPC-4 5.13.11.2.5, SAM-5 5.6).
   */
  setTaskAborter(abort: TaskAborter): void;
  /**
   * The target port groups the transport exports this target through (iSCSI: one per portal group, with one
   * target port whose relative id is the portal group tag), for REPORT TARGET PORT GROUPS.
   */
  setTargetPortGroups?(groups: readonly { id: number; relativeTargetPortIds: readonly number[] }[]): void;
}

/** Aborts every task of these I_T nexuses (ids as in `ItNexus.id`) addressed to this LUN; must not throw. */
export type TaskAborter = (lun: number, nexusIds: readonly string[]) => void;
