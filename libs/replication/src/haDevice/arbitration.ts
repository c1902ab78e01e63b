/**
 * Arbitration as pure rules: who outranks whom, the generation a shrinking group moves to, whether a replica that
 * lost a member steps aside, and the node-majority vote count. HaDevice does the I/O (heartbeat probe, asking the
 * other members, the witness) and asks these functions what the answers mean.
 */
import { createHash } from 'crypto';
import type { HaDeviceConfig } from './haConfig';

/** Higher priority wins; equal priorities: the larger node id. */
export function outranks(priorityA: number, idA: string, priorityB: number, idB: string): boolean {
  return priorityA > priorityB || (priorityA === priorityB && idA > idB);
}

/** The generation a group moves to when its members become `members` (same inputs → same id on every member). */
export function nextGenerationId(current: string, members: readonly string[]): string {
  const h = createHash('sha256').update(`${current}|${[...members].sort().join(',')}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${(8 | (parseInt(h[16], 16) & 3)).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What a serving replica knows when a member is lost (its sync links down, or it failed a write). */
export interface Loss {
  /** The member answered but could not apply a write (its disk failed, or it no longer counts us in its group). */
  brokenDisk: boolean;
  /** The member answers on the heartbeat (true when brokenDisk: it is there). */
  heartbeatAnswers: boolean;
  /** The member has the higher priority (see outranks). */
  memberOutranksUs: boolean;
  /** The member said it was closing on purpose, having stopped serving first: it gives up its place (and its vote). */
  leaving?: boolean;
}

/**
 * Sync links down while the member answers on the heartbeat: the replica with the lower priority steps aside.
 * A member that failed a write is dropped whatever its priority.
 */
export function stepsAside(loss: Loss): boolean {
  return !loss.brokenDisk && !loss.leaving && loss.heartbeatAnswers && loss.memberOutranksUs;
}

/** The votes for this replica going on without the lost member. */
export interface Tally {
  votes: number;
  total: number;
  /** The strategy lets the group go on (heartbeat: always; node-majority: more than half the votes). */
  goesOn: boolean;
  /** Short of a majority with the member silent: the witness's vote may decide. */
  askWitness: boolean;
}

export interface TallyInput {
  strategy: HaDeviceConfig['strategy'];
  /** This device's partners (1 or 2). */
  partners: number;
  witnessConfigured: boolean;
  loss: Loss;
  /** Other members that agreed to drop the lost one. */
  agreed: number;
  /** The witness gave this replica its vote (asked only when `askWitness`). */
  witnessGranted?: boolean;
}

/**
 * Votes: this replica, each agreeing member, the lost member if it answers on the heartbeat with a lower priority
 * (it then agrees to go), and the witness. The total counts every replica and the witness if there is one.
 */
export function tally(input: TallyInput): Tally {
  const { loss } = input;
  const total = 1 + input.partners + (input.witnessConfigured ? 1 : 0);
  let votes = 1 + input.agreed + ((loss.heartbeatAnswers && !loss.brokenDisk) || loss.leaving ? 1 : 0);
  if (input.strategy !== 'node-majority') return { votes, total, goesOn: true, askWitness: false };
  if (input.witnessGranted) votes++;
  const majority = votes * 2 > total;
  return { votes, total, goesOn: majority, askWitness: !majority && !loss.heartbeatAnswers && !loss.leaving && input.witnessGranted === undefined };
}

/** Why the member leaves the group, as the event and the log say it. */
export function lossReason(memberId: string, reason: string, loss: Loss, t: Tally, agreed: number, strategy: HaDeviceConfig['strategy']): string {
  if (loss.brokenDisk) return `${memberId} failed a write: ${reason}`;
  if (loss.leaving) return `${memberId} left the group: it is shutting down (${reason})`;
  if (loss.heartbeatAnswers) return `sync links down, ${memberId} alive on the heartbeat with lower priority (${reason})`;
  if (strategy === 'node-majority' && t.votes > 1 + agreed) return `${memberId} silent; the witness gave this replica its vote (${reason})`;
  return `${memberId} presumed dead: sync and heartbeat silent (${reason})`;
}
