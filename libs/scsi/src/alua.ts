/**
 * Asymmetric logical unit access (SPC-4 5.15): the access state of one LU through each target port group,
 * and which commands each state lets through. The state is plain data, set implicitly (host config, API,
 * later the HA layer) so that a partner can be fed the same changes.
 */
import { Asc } from './sense';

/** The states an operator or the HA layer may put a port group in (offline and LBD are not offered). */
export type AluaAccessState = 'optimized' | 'non-optimized' | 'standby' | 'unavailable' | 'transitioning';

export const ALUA_ACCESS_STATES: readonly AluaAccessState[] = ['optimized', 'non-optimized', 'standby', 'unavailable', 'transitioning'];

/** ASYMMETRIC ACCESS STATE field codes (SPC-4 table 171). */
export const enum AluaStateCode {
  ActiveOptimized = 0x0,
  ActiveNonOptimized = 0x1,
  Standby = 0x2,
  Unavailable = 0x3,
  Transitioning = 0xf,
}

export const ALUA_STATE_CODES: Readonly<Record<AluaAccessState, AluaStateCode>> = {
  optimized: AluaStateCode.ActiveOptimized,
  'non-optimized': AluaStateCode.ActiveNonOptimized,
  standby: AluaStateCode.Standby,
  unavailable: AluaStateCode.Unavailable,
  transitioning: AluaStateCode.Transitioning,
};

/** STATUS CODE of a target port group descriptor (SPC-4 table 172). */
export const enum AluaStatusCode {
  NoStatus = 0x00,
  AlteredBySetTargetPortGroups = 0x01,
  AlteredByImplicitBehavior = 0x02,
}

/**
 * Which non-active states let a command through, as a bit set (active states let everything through).
 * SPC-4 5.15.2.4.4-6: standby allows INQUIRY, LOG/MODE SENSE/SELECT, REPORT LUNS, REPORT TARGET PORT GROUPS,
 * REQUEST SENSE, PR IN/OUT (and the REPORT SUPPORTED ... commands); unavailable and transitioning allow
 * INQUIRY, REPORT LUNS, REPORT TARGET PORT GROUPS and REQUEST SENSE only.
 */
export const enum AluaClass {
  /** Media access and everything else: active states only (default in the command table). */
  ActiveOnly = 0,
  /** Also in standby. */
  Standby = 1,
  /** In every state, transitioning included. */
  AnyState = 1 | 2 | 4,
}

const STANDBY_BIT = 1;
const UNAVAILABLE_BIT = 2;
const TRANSITIONING_BIT = 4;

/** A target port group: its id (the iSCSI portal group tag on this node) and its target ports. */
export interface TargetPortGroup {
  readonly id: number;
  /** Relative target port ids of the group's ports (iSCSI: one port per portal group, id = the tag). */
  readonly relativeTargetPortIds: readonly number[];
}

/** The access state a port group has when nothing was set: every path active/optimized. */
export const DEFAULT_ALUA_STATE: AluaAccessState = 'optimized';

export class AluaState {
  private readonly states = new Map<number, AluaAccessState>();
  private readonly statusCodes = new Map<number, AluaStatusCode>();
  private groups: TargetPortGroup[] = [];
  /** Port groups of the other nodes presenting the same LU (HA partners), reported beside the local ones. */
  private remoteGroups: TargetPortGroup[] = [];
  /** True while every port group is active, so the dispatcher skips the per-command check. */
  allActive = true;

  constructor(initial?: Iterable<readonly [number, AluaAccessState]>) {
    for (const [group, state] of initial ?? []) {
      checkGroupId(group);
      checkState(state);
      this.states.set(group, state);
    }
    this.recompute();
  }

  stateOf(groupId: number): AluaAccessState {
    return this.states.get(groupId) ?? DEFAULT_ALUA_STATE;
  }

  statusCodeOf(groupId: number): AluaStatusCode {
    return this.statusCodes.get(groupId) ?? AluaStatusCode.NoStatus;
  }

  /** Sets the state of one port group; true when it changed (the caller raises the unit attention). */
  set(groupId: number, state: AluaAccessState, status = AluaStatusCode.AlteredByImplicitBehavior): boolean {
    checkGroupId(groupId);
    checkState(state);
    if (this.stateOf(groupId) === state) return false;
    this.states.set(groupId, state);
    this.statusCodes.set(groupId, status);
    this.recompute();
    return true;
  }

  /** The port groups the LU is reachable through (set by the target from its portals; HA may add remote ones). */
  setPortGroups(groups: readonly TargetPortGroup[]): void {
    this.groups = [...groups].sort((a, b) => a.id - b.id).map((g) => ({ id: g.id, relativeTargetPortIds: [...g.relativeTargetPortIds] }));
  }

  /**
   * Groups to report: the configured ones; without any, those that have a state plus the asking port's
   * own group, so a LU used without a transport still answers truthfully for the port it is asked through.
   */
  portGroups(asking?: { relativeTargetPortId: number; targetPortGroupId: number }): readonly TargetPortGroup[] {
    if (this.groups.length > 0) return this.remoteGroups.length === 0 ? this.groups : [...this.groups, ...this.remoteGroups].sort((a, b) => a.id - b.id);
    const byId = new Map<number, TargetPortGroup>();
    for (const id of this.states.keys()) byId.set(id, { id, relativeTargetPortIds: [] });
    for (const g of this.remoteGroups) byId.set(g.id, g);
    if (asking) byId.set(asking.targetPortGroupId, { id: asking.targetPortGroupId, relativeTargetPortIds: [asking.relativeTargetPortId] });
    return [...byId.values()].sort((a, b) => a.id - b.id);
  }

  /** The HA partners' port groups (their portal group tags and target ports) for this LU. */
  setRemotePortGroups(groups: readonly TargetPortGroup[]): void {
    this.remoteGroups = groups.map((g) => ({ id: g.id, relativeTargetPortIds: [...g.relativeTargetPortIds] }));
  }

  /** Plain-JSON copy of every state set (group id → state), for config dumps and HA resync. */
  snapshot(): Record<number, AluaAccessState> {
    return Object.fromEntries(this.states);
  }

  private recompute(): void {
    let active = true;
    for (const s of this.states.values()) if (s !== 'optimized' && s !== 'non-optimized') active = false;
    this.allActive = active;
  }
}

/**
 * The NOT READY additional sense a command of this class gets in this state, or -1 when it may run
 * (SPC-4 5.15.2.4: LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY / UNAVAILABLE STATE, or
 * ASYMMETRIC ACCESS STATE TRANSITION).
 */
export function aluaRefusal(state: AluaAccessState, allowed: AluaClass): number {
  switch (state) {
    case 'optimized':
    case 'non-optimized':
      return -1;
    case 'standby':
      return allowed & STANDBY_BIT ? -1 : Asc.LuNotAccessibleTargetPortInStandbyState;
    case 'unavailable':
      return allowed & UNAVAILABLE_BIT ? -1 : Asc.LuNotAccessibleTargetPortInUnavailableState;
    case 'transitioning':
      return allowed & TRANSITIONING_BIT ? -1 : Asc.LuNotAccessibleAsymmetricAccessStateTransition;
  }
}

function checkGroupId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new RangeError(`target port group ${id} is not between 0 and 65535`);
}

function checkState(state: string): void {
  if (!(ALUA_ACCESS_STATES as readonly string[]).includes(state)) {
    throw new RangeError(`ALUA state "${state}" is not one of ${ALUA_ACCESS_STATES.join(', ')}`);
  }
}
