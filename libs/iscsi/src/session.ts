import { ItNexus, ScsiTask } from '@tandem/scsi';
import { CmdSnWindow } from './cmdsnWindow';
import { SessionParameters } from './negotiation';
import type { IscsiConnection } from './connection';
import type { RegisteredTarget } from './server';

/** A SCSI task as the iSCSI layer tracks it: the SCSI part plus tags, data transfer and R2T state. */
export class IscsiTask extends ScsiTask {
  itt = 0;
  cmdSn = 0;
  immediate = false;
  /** The 8-byte LUN field as received, echoed back in Data-In with the A bit and in R2Ts. */
  lunHi = 0;
  lunLo = 0;
  connection!: IscsiConnection;
  /** Bytes of Data-Out received so far. */
  received = 0;
  /** Next buffer offset to solicit with an R2T. */
  nextR2tOffset = 0;
  outstandingR2ts = 0;
  r2tSn = 0;
  /** Unsolicited Data-Out still expected before R2Ts start (0 when none). */
  unsolicitedExpected = 0;
  unsolicitedDataSn = 0;
  /** True while the SCSI layer runs the command. */
  executing: Promise<void> | null = null;
  finished = false;
  /** The CmdSN window has handed this command over (always true for immediate commands once started). */
  delivered = false;
}

export type SessionType = 'Normal' | 'Discovery';

export class IscsiSession {
  readonly connections = new Set<IscsiConnection>();
  readonly tasks = new Map<number, IscsiTask>();
  /** Tags of recently aborted tasks, so late Data-Out for them is dropped quietly rather than rejected. */
  readonly abortedTags = new Set<number>();
  readonly window: CmdSnWindow<IscsiTask>;

  constructor(
    readonly tsih: number,
    readonly isid: string,
    readonly initiatorName: string,
    readonly type: SessionType,
    readonly target: RegisteredTarget | null,
    readonly params: SessionParameters,
    readonly nexus: ItNexus | null,
    initialCmdSn: number,
    queueDepth: number,
    deliver: (task: IscsiTask) => void,
  ) {
    this.window = new CmdSnWindow(initialCmdSn, queueDepth, deliver);
  }

  get key(): string {
    return sessionKey(this.initiatorName, this.isid, this.target?.definition.name ?? '');
  }

  rememberAborted(itt: number): void {
    this.abortedTags.add(itt);
    if (this.abortedTags.size > 1024) {
      const first = this.abortedTags.values().next().value as number;
      this.abortedTags.delete(first);
    }
  }
}

export function sessionKey(initiatorName: string, isid: string, targetName: string): string {
  return `${initiatorName.toLowerCase()}|${isid}|${targetName.toLowerCase()}`;
}
