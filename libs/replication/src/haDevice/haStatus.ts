/** A read-only view of one HA replica for status commands and metrics: role, ALUA state, and where each partner stands. */
import type { AluaAccessState } from '@tandem/scsi';
import type { HaDevice } from './haDevice';
import type { LocalRole, PartnerState } from './haEvents';

export interface HaPartnerStatus {
  nodeId: string;
  state: PartnerState;
  /** In this replica's group (holds every write it acknowledged). */
  member: boolean;
  linksUp: number;
  linksConfigured: number;
  /** Best round trip over the live sync links in µs, −1 when none measured. */
  rttMicros: number;
  /** A resync from this replica to the partner: bytes copied, and bytes its bitmap still marks (0 and 0 when none runs). */
  resyncDoneBytes: number;
  resyncRemainingBytes: number;
  /** Mean copy rate of the running resync since it started (0 when none runs). */
  resyncBytesPerSecond: number;
}

export interface HaReplicaStatus {
  deviceId: string;
  role: LocalRole;
  accessState: AluaAccessState;
  blockReason: string | null;
  /** Bytes copied by resyncs from this replica since it opened. */
  resyncedBytes: number;
  partners: HaPartnerStatus[];
}

export function haReplicaStatus(ha: HaDevice, now = Date.now()): HaReplicaStatus {
  return {
    deviceId: ha.config.deviceId,
    role: ha.role,
    accessState: ha.accessState,
    blockReason: ha.role === 'serving' ? null : ha.blockReason,
    resyncedBytes: ha.resyncedBytes,
    partners: ha.partners.map((p) => {
      const resyncing = p.state === 'resync-to-partner';
      const seconds = (now - p.resyncStartedAt) / 1000;
      return {
        nodeId: p.nodeId,
        state: p.state,
        member: p.member,
        linksUp: p.channel.linkCount,
        linksConfigured: p.cfg.sync.length,
        rttMicros: p.channel.rttMicros,
        resyncDoneBytes: resyncing ? p.resyncDoneBytes : 0,
        resyncRemainingBytes: resyncing ? p.bitmap.dirtyBytes() : 0,
        resyncBytesPerSecond: resyncing && seconds > 0 ? p.resyncDoneBytes / seconds : 0,
      };
    }),
  };
}
