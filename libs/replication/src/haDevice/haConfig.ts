/** A HA device's replication settings, as the node's config file holds them (validated in libs/target-host). */
import type { Endpoint } from '../channel/syncNetwork';

export interface HaPartnerConfig {
  nodeId: string;
  /** Higher wins: with sync links down and the heartbeat answering, the lower-priority replica blocks. */
  priority: number;
  /** The partner's sync addresses (link i goes from our sync address i to its sync address i). */
  sync: Endpoint[];
  heartbeat: Endpoint[];
  /** The partner's target port group (its portal group tag), reported by REPORT TARGET PORT GROUPS here too. */
  portGroup: number;
}

export interface HaDeviceConfig {
  deviceId: string;
  localNodeId: string;
  priority: number;
  /** This node's target port group for the device. */
  localPortGroup: number;
  /** ALUA state while serving (asymmetric set-ups mark a node's paths non-optimized). */
  preferredAccessState: 'optimized' | 'non-optimized';
  /**
   * heartbeat: with every sync link down, the partner answering on the heartbeat → the lower priority blocks; silent →
   * presumed dead. node-majority: a replica goes on alone only with a majority of votes (itself, the partner if it
   * answers, the witness's vote); a two-node device needs a witness.
   */
  strategy: 'heartbeat' | 'node-majority';
  /** The witness's addresses (`tandem witness`), for node-majority. */
  witness?: Endpoint[];
  partners: HaPartnerConfig[];
  /** Generation file, bitmaps and partner state live here (beside the image). */
  stateDir: string;
  /** Dirty bitmap granularity. Default 64 KiB. */
  regionBytes?: number;
  /** Generation both replicas start with when created together (CLEAR_BOTH / NONE); absent: a fresh one. */
  initialGeneration?: string;
  /** Resync throttle, bytes per second; 0 = as fast as the disks allow. */
  resyncBytesPerSecond?: number;
  /** How long a starting replica waits for its partner before deciding alone. Default 5 s. */
  startupWaitMs?: number;
  /** After a partner fell silent, how long after it was last heard writes may go on without it. Default 1500 ms. */
  fenceMs?: number;
  /** Round trip above which SyncLatencyHigh is reported. Default 5 ms. */
  latencyAlertMicros?: number;
}
