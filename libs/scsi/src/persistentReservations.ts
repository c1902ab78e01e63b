/**
 * The reservation state of one logical unit (SPC-4 5.13): persistent reservation registrations and
 * reservation, and the legacy RESERVE(6)/(10) reservation. Pure and deterministic: every change goes
 * through `apply(op, nexus)`, whose operations and snapshots are plain JSON, so a partner node fed the
 * same operations in the same order reaches the same state. Effects on local I_T nexuses (unit
 * attentions, aborted tasks) come back as patterns the caller matches against the nexuses it knows.
 */

/** PERSISTENT RESERVE OUT TYPE field. */
export const enum PrType {
  WriteExclusive = 0x1,
  ExclusiveAccess = 0x3,
  WriteExclusiveRegistrantsOnly = 0x5,
  ExclusiveAccessRegistrantsOnly = 0x6,
  WriteExclusiveAllRegistrants = 0x7,
  ExclusiveAccessAllRegistrants = 0x8,
}

export const PR_TYPES: readonly PrType[] = [
  PrType.WriteExclusive,
  PrType.ExclusiveAccess,
  PrType.WriteExclusiveRegistrantsOnly,
  PrType.ExclusiveAccessRegistrantsOnly,
  PrType.WriteExclusiveAllRegistrants,
  PrType.ExclusiveAccessAllRegistrants,
];

export function isPrType(type: number): type is PrType {
  return (PR_TYPES as readonly number[]).includes(type);
}

/** All-registrants types: every registrant is a reservation holder and the reservation key reads as 0. */
export function isAllRegistrantsType(type: PrType): boolean {
  return type === PrType.WriteExclusiveAllRegistrants || type === PrType.ExclusiveAccessAllRegistrants;
}

/** How a command may conflict with a reservation (SPC-4 table 62, SBC-3 table 13): one flag per command. */
export const enum AccessClass {
  /** Never conflicts with a persistent reservation: INQUIRY, TEST UNIT READY, READ CAPACITY, PR IN ... */
  Always = 0,
  /** Reads the medium: conflicts under exclusive access types only. */
  Read = 1,
  /** Writes or changes the LU (and MODE SENSE, SYNCHRONIZE CACHE ...): conflicts under every exclusive type. */
  Write = 2,
  /** PERSISTENT RESERVE OUT, RESERVE, RELEASE: their handlers apply SPC-4 5.13.2 / 5.13.3 themselves. */
  Reservation = 3,
}

/** The part of an I_T nexus reservations care about (an `ItNexus` fits). */
export interface PrNexus {
  /** "iqn...,i,0x<ISID>" */
  readonly initiatorPortName: string;
  /** "iqn...,t,0x<TPGT>" */
  readonly targetPortName: string;
  readonly relativeTargetPortId: number;
}

/**
 * Which I_T nexuses a registration (or an effect) covers. Names are lower case. `isid` null: every
 * initiator port of that iSCSI name (TransportID format 00b); `targetPort` null: every target port (ALL_TG_PT).
 */
export interface NexusPattern {
  readonly initiator: string;
  readonly isid: string | null;
  readonly targetPort: string | null;
}

/** iSCSI TransportID (SPC-4 7.6.4.6): format 00b (name only) or 01b (initiator port: name + ISID). */
export interface TransportId {
  readonly name: string;
  readonly isid: string | null;
}

export interface Registration extends NexusPattern {
  /** Reservation key, 16 lower-case hex digits. */
  readonly key: string;
  /** Relative target port identifier it was made through (READ FULL STATUS); 0 when targetPort is null. */
  readonly relativeTargetPortId: number;
}

export interface Reservation {
  readonly type: PrType;
  /** Index into registrations of the holder; -1 for all-registrants types (every registrant holds it). */
  readonly holder: number;
}

/** Serialisable state: what APTPL persists and what a partner node restores. */
export interface PrSnapshot {
  readonly version: 1;
  readonly generation: number;
  readonly aptpl: boolean;
  readonly registrations: readonly Registration[];
  readonly reservation: Reservation | null;
  /** Nexus key ("initiator port|target port", lower case) holding a RESERVE(6)/(10) reservation. */
  readonly legacyHolder: string | null;
}

export const ZERO_KEY = '0000000000000000';

/** Registrations beyond this are refused with INSUFFICIENT REGISTRATION RESOURCES. */
export const MAX_REGISTRATIONS = 256;

export type PrOutOperation =
  | {
      readonly kind: 'register';
      /** REGISTER AND IGNORE EXISTING KEY when true. */
      readonly ignoreExistingKey: boolean;
      readonly reservationKey: string;
      readonly serviceActionKey: string;
      readonly allTargetPorts: boolean;
      readonly aptpl: boolean;
      /** SPEC_I_PT TransportIDs; empty when SPEC_I_PT is 0. */
      readonly transportIds: readonly TransportId[];
    }
  | { readonly kind: 'reserve'; readonly reservationKey: string; readonly type: PrType }
  | { readonly kind: 'release'; readonly reservationKey: string; readonly type: PrType }
  | { readonly kind: 'clear'; readonly reservationKey: string }
  | {
      readonly kind: 'preempt';
      readonly abort: boolean;
      readonly reservationKey: string;
      readonly serviceActionKey: string;
      readonly type: PrType;
    }
  | {
      readonly kind: 'registerAndMove';
      readonly reservationKey: string;
      readonly serviceActionKey: string;
      readonly type: PrType;
      readonly unregister: boolean;
      readonly aptpl: boolean;
      readonly transportId: TransportId;
      /** Target port of the destination I_T nexus, resolved from RELATIVE TARGET PORT IDENTIFIER. */
      readonly targetPortName: string;
      readonly relativeTargetPortId: number;
    };

/** Operations outside PR OUT that change reservation state, replicated the same way. */
export type LegacyOperation =
  | { readonly kind: 'reserve6' }
  | { readonly kind: 'release6' }
  /** I_T nexus loss: drops the nexus's RESERVE(6) reservation; registrations stay (SPC-4 5.13.1). */
  | { readonly kind: 'nexusLost' }
  /** LOGICAL UNIT RESET or hard reset: drops the RESERVE(6) reservation only. */
  | { readonly kind: 'reset' };

export type PrOperation = PrOutOperation | LegacyOperation;

export const enum PrOutcome {
  Good = 0,
  ReservationConflict = 1,
  InvalidFieldInCdb = 2,
  InvalidFieldInParameterList = 3,
  /** 26h/04h INVALID RELEASE OF PERSISTENT RESERVATION */
  InvalidRelease = 4,
  /** 55h/04h INSUFFICIENT REGISTRATION RESOURCES */
  InsufficientRegistrationResources = 5,
}

/** Unit attention conditions a PR OUT raises (ASC/ASCQ as in sense.ts). */
export const enum PrAttention {
  ReservationsPreempted = 0x2a03,
  ReservationsReleased = 0x2a04,
  RegistrationsPreempted = 0x2a05,
}

export interface PrResult {
  readonly outcome: PrOutcome;
  /** For INVALID FIELD outcomes: the byte (and bit) of the offending field, in the CDB or parameter list. */
  readonly field?: { readonly byte: number; readonly bit?: number };
  /** Unit attentions to raise on every local nexus matching a pattern, except the nexus that sent the command. */
  readonly attentions: ReadonlyArray<{ readonly to: NexusPattern; readonly code: PrAttention }>;
  /** PREEMPT AND ABORT: abort the tasks of the local nexuses matching these (not the sender's). */
  readonly abort: readonly NexusPattern[];
  /** True when the state changed (then it must be persisted/replicated before GOOD). */
  readonly changed: boolean;
}

const NO_EFFECTS: PrResult = { outcome: PrOutcome.Good, attentions: [], abort: [], changed: false };

function outcome(o: PrOutcome, field?: { byte: number; bit?: number }): PrResult {
  return { outcome: o, field, attentions: [], abort: [], changed: false };
}

const CONFLICT = outcome(PrOutcome.ReservationConflict);

/** Splits "name,i,0xISID" into lower-case name and ISID (ISID null when absent). */
export function parseInitiatorPort(portName: string): TransportId {
  const at = portName.toLowerCase().lastIndexOf(',i,0x');
  if (at < 0) return { name: portName.toLowerCase(), isid: null };
  return { name: portName.slice(0, at).toLowerCase(), isid: portName.slice(at + 5).toLowerCase() };
}

/** The pattern of exactly one I_T nexus. */
export function patternOf(nexus: PrNexus): NexusPattern {
  const { name, isid } = parseInitiatorPort(nexus.initiatorPortName);
  return { initiator: name, isid, targetPort: nexus.targetPortName.toLowerCase() };
}

export function nexusKey(nexus: PrNexus): string {
  return `${nexus.initiatorPortName.toLowerCase()}|${nexus.targetPortName.toLowerCase()}`;
}

export function matches(pattern: NexusPattern, nexus: PrNexus): boolean {
  const { name, isid } = parseInitiatorPort(nexus.initiatorPortName);
  return (
    pattern.initiator === name &&
    (pattern.isid === null || pattern.isid === isid) &&
    (pattern.targetPort === null || pattern.targetPort === nexus.targetPortName.toLowerCase())
  );
}

/** True when some I_T nexus could match both patterns. */
function overlaps(a: NexusPattern, b: NexusPattern): boolean {
  return (
    a.initiator === b.initiator &&
    (a.isid === null || b.isid === null || a.isid === b.isid) &&
    (a.targetPort === null || b.targetPort === null || a.targetPort === b.targetPort)
  );
}

function samePattern(a: NexusPattern, b: NexusPattern): boolean {
  return a.initiator === b.initiator && a.isid === b.isid && a.targetPort === b.targetPort;
}

/** A reservation key as 16 lower-case hex digits. */
export function keyFromBuffer(buf: Buffer, offset: number): string {
  return buf.toString('hex', offset, offset + 8);
}

export class PersistentReservations {
  private generation = 0;
  private aptpl = false;
  private registrations: Registration[] = [];
  private reservation: Reservation | null = null;
  private legacyHolder: string | null = null;
  /** Registration index per nexus key; rebuilt lazily after every change (the hot path only reads it). */
  private lookup = new Map<string, number>();

  constructor(snapshot?: PrSnapshot) {
    if (snapshot) this.restore(snapshot);
  }

  // ---- queries ----

  /** True when some reservation (persistent or RESERVE(6)) may make a command conflict. */
  get active(): boolean {
    return this.reservation !== null || this.legacyHolder !== null;
  }

  get prGeneration(): number {
    return this.generation;
  }

  get persistThroughPowerLoss(): boolean {
    return this.aptpl;
  }

  get hasRegistrations(): boolean {
    return this.registrations.length > 0;
  }

  /** Registrations in registration order. */
  registrationList(): readonly Registration[] {
    return this.registrations;
  }

  currentReservation(): { type: PrType; holder: Registration | null } | null {
    const r = this.reservation;
    if (r === null) return null;
    return { type: r.type, holder: r.holder >= 0 ? this.registrations[r.holder] : null };
  }

  /** True when the registration at `index` holds the persistent reservation. */
  isHolderIndex(index: number): boolean {
    const r = this.reservation;
    if (r === null || index < 0) return false;
    return r.holder === -1 || r.holder === index;
  }

  /** Index of the registration covering this nexus, or -1. */
  registrationIndexOf(nexus: PrNexus & { readonly id?: string }): number {
    // The transport's nexus id saves building the key on every I/O while a reservation is held.
    const key = nexus.id ?? nexusKey(nexus);
    const cached = this.lookup.get(key);
    if (cached !== undefined) return cached;
    const index = this.registrations.findIndex((r) => matches(r, nexus));
    this.lookup.set(key, index);
    return index;
  }

  registrationOf(nexus: PrNexus): Registration | undefined {
    const index = this.registrationIndexOf(nexus);
    return index >= 0 ? this.registrations[index] : undefined;
  }

  /** True while a RESERVE(6)/(10) reservation exists. */
  get legacyReserved(): boolean {
    return this.legacyHolder !== null;
  }

  legacyHeldBy(nexus: PrNexus): boolean {
    return this.legacyHolder === nexusKey(nexus);
  }

  /** True when a RESERVE(6)/(10) reservation is held by another I_T nexus. */
  legacyHeldByOther(nexus: PrNexus): boolean {
    return this.legacyHolder !== null && this.legacyHolder !== nexusKey(nexus);
  }

  /**
   * Whether a command of this access class from this nexus conflicts with the current reservations
   * (SPC-4 5.13.1 table 62, SBC-3 4.17 table 13; SPC-2 5.5.1 for RESERVE(6)).
   */
  conflicts(nexus: PrNexus, access: AccessClass): boolean {
    if (this.legacyHolder !== null) {
      // A RESERVE(6) holder has the LU to itself; the reservation commands decide for themselves.
      return access !== AccessClass.Reservation && this.legacyHolder !== nexusKey(nexus);
    }
    const r = this.reservation;
    if (r === null || access === AccessClass.Always || access === AccessClass.Reservation) return false;
    const index = this.registrationIndexOf(nexus);
    if (index >= 0 && (r.holder === -1 || r.holder === index)) return false;
    switch (r.type) {
      case PrType.WriteExclusive:
        return access === AccessClass.Write;
      case PrType.ExclusiveAccess:
        return true;
      case PrType.WriteExclusiveRegistrantsOnly:
      case PrType.WriteExclusiveAllRegistrants:
        return index < 0 && access === AccessClass.Write;
      default:
        return index < 0;
    }
  }

  // ---- state transfer ----

  snapshot(): PrSnapshot {
    return {
      version: 1,
      generation: this.generation,
      aptpl: this.aptpl,
      registrations: this.registrations.map((r) => ({ ...r })),
      reservation: this.reservation ? { ...this.reservation } : null,
      legacyHolder: this.legacyHolder,
    };
  }

  restore(snapshot: PrSnapshot): void {
    if (snapshot.version !== 1) throw new Error(`unknown reservation state version ${String(snapshot.version)}`);
    const registrations = snapshot.registrations.map(validRegistration);
    const reservation = snapshot.reservation;
    if (reservation !== null) {
      if (!isPrType(reservation.type)) throw new Error(`bad reservation type ${reservation.type}`);
      const allRegistrants = isAllRegistrantsType(reservation.type);
      if (allRegistrants ? reservation.holder !== -1 : !(reservation.holder >= 0 && reservation.holder < registrations.length)) {
        throw new Error('reservation holder is not a registration');
      }
    }
    if (!Number.isInteger(snapshot.generation) || snapshot.generation < 0 || snapshot.generation > 0xffffffff) {
      throw new Error('bad PRgeneration');
    }
    this.generation = snapshot.generation;
    this.aptpl = snapshot.aptpl === true;
    this.registrations = registrations;
    this.reservation = reservation === null ? null : { type: reservation.type, holder: reservation.holder };
    this.legacyHolder = typeof snapshot.legacyHolder === 'string' ? snapshot.legacyHolder : null;
    this.lookup.clear();
  }

  /** What survives a power loss: the persistent state when APTPL was set, nothing otherwise. */
  powerLossSnapshot(): PrSnapshot | null {
    if (!this.aptpl) return null;
    return { ...this.snapshot(), legacyHolder: null };
  }

  // ---- the one mutation entry point ----

  apply(op: PrOperation, nexus: PrNexus): PrResult {
    switch (op.kind) {
      case 'register':
        return this.register(op, nexus);
      case 'reserve':
        return this.reserve(op.reservationKey, op.type, nexus);
      case 'release':
        return this.release(op.reservationKey, op.type, nexus);
      case 'clear':
        return this.clear(op.reservationKey, nexus);
      case 'preempt':
        return this.preempt(op, nexus);
      case 'registerAndMove':
        return this.registerAndMove(op, nexus);
      case 'reserve6':
        return this.reserve6(nexus);
      case 'release6':
        return this.release6(nexus);
      case 'nexusLost':
      case 'reset':
        return this.dropLegacy(op.kind === 'reset' ? null : nexus);
    }
  }

  // ---- PERSISTENT RESERVE OUT (SPC-4 5.13.7 - 5.13.11) ----

  private register(op: Extract<PrOutOperation, { kind: 'register' }>, nexus: PrNexus): PrResult {
    if (this.legacyHolder !== null) return CONFLICT;
    const index = this.registrationIndexOf(nexus);
    if (index < 0) {
      if (!op.ignoreExistingKey && op.reservationKey !== ZERO_KEY) return CONFLICT;
      if (op.serviceActionKey === ZERO_KEY) return NO_EFFECTS;
      const own = patternOf(nexus);
      const added: Registration[] = [
        {
          ...own,
          targetPort: op.allTargetPorts ? null : own.targetPort,
          key: op.serviceActionKey,
          relativeTargetPortId: op.allTargetPorts ? 0 : nexus.relativeTargetPortId,
        },
      ];
      for (const id of op.transportIds) {
        const r: Registration = {
          initiator: id.name,
          isid: id.isid,
          targetPort: op.allTargetPorts ? null : own.targetPort,
          key: op.serviceActionKey,
          relativeTargetPortId: op.allTargetPorts ? 0 : nexus.relativeTargetPortId,
        };
        if (added.some((a) => samePattern(a, r))) continue;
        // SPC-4 6.17.4: a TransportID naming an already registered I_T nexus fails the whole command.
        if (added.some((a) => overlaps(a, r))) return outcome(PrOutcome.InvalidFieldInParameterList, { byte: 24 });
        added.push(r);
      }
      for (const a of added) {
        if (this.registrations.some((r) => overlaps(r, a))) {
          return a === added[0] ? CONFLICT : outcome(PrOutcome.InvalidFieldInParameterList, { byte: 24 });
        }
      }
      if (this.registrations.length + added.length > MAX_REGISTRATIONS) {
        return outcome(PrOutcome.InsufficientRegistrationResources);
      }
      this.registrations.push(...added);
      this.aptpl = op.aptpl;
      return this.changed();
    }
    const current = this.registrations[index];
    if (!op.ignoreExistingKey && op.reservationKey !== current.key) return CONFLICT;
    // SPC-4 6.17.2: SPEC_I_PT from a registered I_T nexus is refused.
    if (op.transportIds.length > 0) return outcome(PrOutcome.InvalidFieldInParameterList, { byte: 20, bit: 3 });
    if (op.serviceActionKey === ZERO_KEY) {
      const result = this.unregister(index);
      this.aptpl = op.aptpl;
      return result;
    }
    this.registrations[index] = { ...current, key: op.serviceActionKey };
    this.aptpl = op.aptpl;
    return this.changed();
  }

  /** Removes one registration; a holder's reservation goes with it unless all registrants hold it (5.13.11.2.3). */
  private unregister(index: number): PrResult {
    const attentions: Array<{ to: NexusPattern; code: PrAttention }> = [];
    const r = this.reservation;
    const removed = this.registrations[index];
    if (r !== null && r.holder === index) {
      if (r.type === PrType.WriteExclusiveRegistrantsOnly || r.type === PrType.ExclusiveAccessRegistrantsOnly) {
        for (const other of this.registrations) {
          if (other !== removed) attentions.push({ to: other, code: PrAttention.ReservationsReleased });
        }
      }
      this.reservation = null;
    }
    this.removeRegistrations(new Set([index]));
    return this.changed(attentions);
  }

  private reserve(key: string, type: PrType, nexus: PrNexus): PrResult {
    if (this.legacyHolder !== null) return CONFLICT;
    const index = this.registrationIndexOf(nexus);
    if (index < 0 || this.registrations[index].key !== key) return CONFLICT;
    const r = this.reservation;
    if (r !== null) {
      // Same holder, same type: nothing to do; anything else conflicts (5.13.9).
      return this.isHolderIndex(index) && r.type === type ? NO_EFFECTS : CONFLICT;
    }
    this.reservation = { type, holder: isAllRegistrantsType(type) ? -1 : index };
    return { ...NO_EFFECTS, changed: true };
  }

  private release(key: string, type: PrType, nexus: PrNexus): PrResult {
    if (this.legacyHolder !== null) return CONFLICT;
    const index = this.registrationIndexOf(nexus);
    if (index < 0 || this.registrations[index].key !== key) return CONFLICT;
    const r = this.reservation;
    if (r === null || !this.isHolderIndex(index)) return NO_EFFECTS;
    if (r.type !== type) return outcome(PrOutcome.InvalidRelease);
    this.reservation = null;
    const attentions: Array<{ to: NexusPattern; code: PrAttention }> = [];
    // 5.13.11.2.2: releasing a registrants-only or all-registrants reservation tells the other registrants.
    if (r.type !== PrType.WriteExclusive && r.type !== PrType.ExclusiveAccess) {
      for (const other of this.registrations) attentions.push({ to: other, code: PrAttention.ReservationsReleased });
    }
    return { outcome: PrOutcome.Good, attentions, abort: [], changed: true };
  }

  private clear(key: string, nexus: PrNexus): PrResult {
    if (this.legacyHolder !== null) return CONFLICT;
    const index = this.registrationIndexOf(nexus);
    if (index < 0 || this.registrations[index].key !== key) return CONFLICT;
    const attentions = this.registrations.map((to) => ({ to, code: PrAttention.ReservationsPreempted }));
    this.registrations = [];
    this.reservation = null;
    this.lookup.clear();
    return this.changed(attentions);
  }

  private preempt(op: Extract<PrOutOperation, { kind: 'preempt' }>, nexus: PrNexus): PrResult {
    if (this.legacyHolder !== null) return CONFLICT;
    const index = this.registrationIndexOf(nexus);
    if (index < 0 || this.registrations[index].key !== op.reservationKey) return CONFLICT;
    const sark = op.serviceActionKey;
    const r = this.reservation;
    const matching = (): Set<number> => {
      const victims = new Set<number>();
      this.registrations.forEach((reg, i) => {
        if (i !== index && reg.key === sark) victims.add(i);
      });
      return victims;
    };

    // No reservation, or SARK names non-holders: remove registrations only (5.13.11.2.4.2).
    const holderKey = r === null ? null : r.holder >= 0 ? this.registrations[r.holder].key : null;
    const preemptsReservation = r !== null && (r.holder === -1 ? sark === ZERO_KEY : sark === holderKey);
    if (!preemptsReservation) {
      if (sark === ZERO_KEY) return outcome(PrOutcome.InvalidFieldInParameterList, { byte: 8 });
      const victims = matching();
      // A key nobody else holds: RESERVATION CONFLICT (5.13.11.2.4.2).
      if (victims.size === 0) return sark === this.registrations[index].key ? this.changed() : CONFLICT;
      return this.removeVictims(victims, op.abort, []);
    }

    // Preempting the reservation (5.13.11.2.4.3): victims lose their registrations, the sender holds `type`.
    const victims = r!.holder === -1 ? new Set(this.registrations.map((_, i) => i).filter((i) => i !== index)) : matching();
    const attentions: Array<{ to: NexusPattern; code: PrAttention }> = [];
    if (r!.type !== op.type) {
      // Registrants that stay but whose reservation changed type are told RESERVATIONS RELEASED.
      this.registrations.forEach((reg, i) => {
        if (i !== index && !victims.has(i)) attentions.push({ to: reg, code: PrAttention.ReservationsReleased });
      });
    }
    const keep = this.registrations[index];
    this.reservation = null;
    const result = this.removeVictims(victims, op.abort, attentions);
    const newIndex = this.registrations.indexOf(keep);
    this.reservation = { type: op.type, holder: isAllRegistrantsType(op.type) ? -1 : newIndex };
    return result;
  }

  private removeVictims(
    victims: Set<number>,
    abort: boolean,
    attentions: Array<{ to: NexusPattern; code: PrAttention }>,
  ): PrResult {
    const removed = [...victims].map((i) => this.registrations[i]);
    for (const to of removed) attentions.push({ to, code: PrAttention.RegistrationsPreempted });
    this.removeRegistrations(victims);
    const result = this.changed(attentions);
    return abort ? { ...result, abort: removed.map(({ initiator, isid, targetPort }) => ({ initiator, isid, targetPort })) } : result;
  }

  private registerAndMove(op: Extract<PrOutOperation, { kind: 'registerAndMove' }>, nexus: PrNexus): PrResult {
    if (this.legacyHolder !== null) return CONFLICT;
    const index = this.registrationIndexOf(nexus);
    if (index < 0 || this.registrations[index].key !== op.reservationKey) return CONFLICT;
    const r = this.reservation;
    // Only the holder of a reservation that is not all-registrants can move it (5.13.8).
    if (r === null || r.holder !== index) return CONFLICT;
    if (op.serviceActionKey === ZERO_KEY) return outcome(PrOutcome.InvalidFieldInParameterList, { byte: 8 });
    const destination: NexusPattern = {
      initiator: op.transportId.name,
      isid: op.transportId.isid,
      targetPort: op.targetPortName.toLowerCase(),
    };
    const source = this.registrations[index];
    if (overlaps(destination, source)) return outcome(PrOutcome.InvalidFieldInParameterList, { byte: 24 });
    let destinationIndex = this.registrations.findIndex((reg) => samePattern(reg, destination));
    if (destinationIndex < 0 && this.registrations.some((reg) => overlaps(reg, destination))) {
      return outcome(PrOutcome.InvalidFieldInParameterList, { byte: 24 });
    }
    if (destinationIndex >= 0) {
      this.registrations[destinationIndex] = { ...this.registrations[destinationIndex], key: op.serviceActionKey };
    } else {
      if (this.registrations.length >= MAX_REGISTRATIONS) return outcome(PrOutcome.InsufficientRegistrationResources);
      this.registrations.push({ ...destination, key: op.serviceActionKey, relativeTargetPortId: op.relativeTargetPortId });
      destinationIndex = this.registrations.length - 1;
    }
    const moved = this.registrations[destinationIndex];
    this.reservation = { type: op.type, holder: destinationIndex };
    if (op.unregister) {
      this.removeRegistrations(new Set([index]));
      this.reservation = { type: op.type, holder: this.registrations.indexOf(moved) };
    }
    this.aptpl = op.aptpl;
    return this.changed();
  }

  // ---- RESERVE(6)/RELEASE(6) (SPC-2 7.21, 7.17; SPC-4 5.13.3) ----

  private reserve6(nexus: PrNexus): PrResult {
    // Persistent reservations exist (any registration): RESERVE conflicts, whoever sends it.
    if (this.registrations.length > 0 || this.reservation !== null) return CONFLICT;
    const key = nexusKey(nexus);
    if (this.legacyHolder !== null && this.legacyHolder !== key) return CONFLICT;
    if (this.legacyHolder === key) return NO_EFFECTS;
    this.legacyHolder = key;
    return { ...NO_EFFECTS, changed: true };
  }

  private release6(nexus: PrNexus): PrResult {
    if (this.registrations.length > 0 || this.reservation !== null) return CONFLICT;
    // Released by its holder only; from anyone else it is GOOD and changes nothing.
    if (this.legacyHolder !== nexusKey(nexus)) return NO_EFFECTS;
    this.legacyHolder = null;
    return { ...NO_EFFECTS, changed: true };
  }

  private dropLegacy(nexus: PrNexus | null): PrResult {
    if (this.legacyHolder === null || (nexus !== null && this.legacyHolder !== nexusKey(nexus))) return NO_EFFECTS;
    this.legacyHolder = null;
    return { ...NO_EFFECTS, changed: true };
  }

  // ---- helpers ----

  private removeRegistrations(indexes: Set<number>): void {
    const r = this.reservation;
    const holder = r !== null && r.holder >= 0 ? this.registrations[r.holder] : null;
    this.registrations = this.registrations.filter((_, i) => !indexes.has(i));
    if (r !== null) {
      if (r.holder === -1) {
        // All-registrants: the reservation lasts while anyone is registered.
        if (this.registrations.length === 0) this.reservation = null;
      } else {
        const at = holder === null ? -1 : this.registrations.indexOf(holder);
        this.reservation = at >= 0 ? { type: r.type, holder: at } : null;
      }
    }
    this.lookup.clear();
  }

  /** Counts a successful registration-changing PR OUT (PRgeneration, SPC-4 6.16.2). */
  private changed(attentions: Array<{ to: NexusPattern; code: PrAttention }> = []): PrResult {
    this.generation = (this.generation + 1) >>> 0;
    this.lookup.clear();
    return { outcome: PrOutcome.Good, attentions, abort: [], changed: true };
  }
}

function validRegistration(r: Registration): Registration {
  if (typeof r.initiator !== 'string' || !/^[0-9a-f]{16}$/.test(r.key)) throw new Error('bad registration in reservation state');
  return {
    initiator: r.initiator.toLowerCase(),
    isid: typeof r.isid === 'string' ? r.isid.toLowerCase() : null,
    targetPort: typeof r.targetPort === 'string' ? r.targetPort.toLowerCase() : null,
    key: r.key,
    relativeTargetPortId: Number.isInteger(r.relativeTargetPortId) ? r.relativeTargetPortId : 0,
  };
}
