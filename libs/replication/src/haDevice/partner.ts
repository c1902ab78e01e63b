/** Everything one HA replica keeps about one partner: its channel, state, bitmap, lock grants and recent writes. */
import { promises as fsp } from 'fs';
import type { AluaAccessState } from '@tandem/scsi';
import { PartnerChannel } from '../channel/partnerChannel';
import type { DirtyBitmap } from '../state/dirtyBitmap';
import type { HaPartnerConfig } from './haConfig';
import type { PartnerState } from './haEvents';
import type { PeerState } from './stateMessages';

/** Whether the partner is in this replica's group, as kept on disk (`<node>.state.json`). */
export interface PersistedPartner {
  state: 'synchronized' | 'not-synchronized';
}

export class Partner {
  readonly channel: PartnerChannel;
  state: PartnerState = 'unknown';
  accessState: AluaAccessState = 'unavailable';
  peer: PeerState | null = null;
  /** A handshake completed on the current connection. */
  handshaken = false;
  /** This replica is taking it out of its group (removeMember runs): no second decision about it meanwhile. */
  removing = false;
  /** It said it is closing on purpose (see HaDevice.close): losing it is no cut cable. Cleared when it reconnects. */
  leaving = false;
  deciding: Promise<void> | null = null;
  resyncRun: Promise<void> | null = null;
  stopResync = false;
  /** Regions this member reported for a join we coordinate elsewhere (cleaned when the join commits). */
  preparedRegions: number[] | null = null;
  /** Lock slots granted to this partner (released if it goes away), by slot and by request id. */
  readonly granted = new Set<number>();
  readonly grantsByRequest = new Map<number, number>();
  readonly recentPr = new Set<number>();
  /** 4 MiB extents this partner wrote here recently (two rotating windows). */
  recentNow = new Set<number>();
  recentBefore = new Set<number>();
  lastLatencyAlert = 0;
  retryTimer?: NodeJS.Timeout;
  /** The resync this replica runs to the partner (for status and metrics): bytes copied since it started. */
  resyncDoneBytes = 0;
  resyncStartedAt = 0;

  constructor(
    readonly cfg: HaPartnerConfig,
    readonly bitmap: DirtyBitmap,
    public persisted: PersistedPartner,
  ) {
    this.channel = new PartnerChannel(cfg.nodeId);
  }

  get nodeId(): string {
    return this.cfg.nodeId;
  }

  /** In this replica's group: it holds every write this replica acknowledged. */
  get member(): boolean {
    return this.persisted.state === 'synchronized';
  }

  /** Gets our writes now (a member, or a replica being resynced). */
  get receives(): boolean {
    return (this.state === 'synchronized' || this.state === 'resync-to-partner') && this.channel.connected;
  }

  /** The 4 MiB extents it wrote here in the last two windows (see HaDevice.repairRecent). */
  recentExtents(): number[] {
    return [...new Set([...this.recentBefore, ...this.recentNow])];
  }
}

/** Reads `<node>.state.json`; absent or unreadable, a new replica starts as a member (the generations decide the initial sync). */
export async function readPartnerState(file: string): Promise<PersistedPartner> {
  try {
    const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as PersistedPartner;
    if (parsed.state === 'synchronized' || parsed.state === 'not-synchronized') return parsed;
  } catch {
    // absent: a new replica starts as a copy of its partners (initial sync decided by the generations)
  }
  return { state: 'synchronized' };
}
