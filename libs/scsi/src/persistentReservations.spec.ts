import {
  AccessClass,
  PR_TYPES,
  PersistentReservations,
  PrAttention,
  PrNexus,
  PrOperation,
  PrOutcome,
  PrType,
  ZERO_KEY,
  isAllRegistrantsType,
  matches,
} from './persistentReservations';

const port = (tpgt: number) => `iqn.2026-11.io.tandem:demo,t,0x${tpgt.toString(16).padStart(4, '0')}`;

function nx(host: number, tpgt = 1, isid = `23d00000000${host}`): PrNexus {
  return { initiatorPortName: `iqn.1994-05.com.example:host${host},i,0x${isid}`, targetPortName: port(tpgt), relativeTargetPortId: tpgt };
}

const key = (n: number) => n.toString(16).padStart(16, '0');
const A = nx(1);
const B = nx(2);
const C = nx(3);

function register(sark: string, extra: Partial<Extract<PrOperation, { kind: 'register' }>> = {}): PrOperation {
  return {
    kind: 'register',
    ignoreExistingKey: false,
    reservationKey: ZERO_KEY,
    serviceActionKey: sark,
    allTargetPorts: false,
    aptpl: false,
    transportIds: [],
    ...extra,
  };
}

const reserve = (k: string, type: PrType): PrOperation => ({ kind: 'reserve', reservationKey: k, type });
const release = (k: string, type: PrType): PrOperation => ({ kind: 'release', reservationKey: k, type });
const preempt = (k: string, sark: string, type: PrType, abort = false): PrOperation => ({
  kind: 'preempt',
  abort,
  reservationKey: k,
  serviceActionKey: sark,
  type,
});

function good(pr: PersistentReservations, op: PrOperation, nexus: PrNexus) {
  const result = pr.apply(op, nexus);
  expect(result.outcome).toBe(PrOutcome.Good);
  return result;
}

/** A and B registered (keys 1 and 2), C not; A reserved with `type`. */
function reservedBy(type: PrType): PersistentReservations {
  const pr = new PersistentReservations();
  good(pr, register(key(1)), A);
  good(pr, register(key(2)), B);
  good(pr, reserve(key(1), type), A);
  return pr;
}

describe('PersistentReservations: registration', () => {
  it('registers, re-registers with the right key, and unregisters with key 0, counting generations', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1)), A);
    expect(pr.registrationOf(A)?.key).toBe(key(1));
    expect(pr.prGeneration).toBe(1);
    expect(pr.apply(register(key(5), { reservationKey: key(9) }), A).outcome).toBe(PrOutcome.ReservationConflict);
    good(pr, register(key(5), { reservationKey: key(1) }), A);
    expect(pr.registrationOf(A)?.key).toBe(key(5));
    good(pr, register(ZERO_KEY, { reservationKey: key(5) }), A);
    expect(pr.registrationOf(A)).toBeUndefined();
    expect(pr.prGeneration).toBe(3);
  });

  it('refuses REGISTER with a non-zero key from an unregistered nexus; key 0 from it does nothing', () => {
    const pr = new PersistentReservations();
    expect(pr.apply(register(key(1), { reservationKey: key(7) }), A).outcome).toBe(PrOutcome.ReservationConflict);
    const result = good(pr, register(ZERO_KEY), A);
    expect(result.changed).toBe(false);
    expect(pr.prGeneration).toBe(0);
  });

  it('REGISTER AND IGNORE EXISTING KEY replaces whatever key is there', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1)), A);
    good(pr, register(key(2), { ignoreExistingKey: true, reservationKey: key(99) }), A);
    expect(pr.registrationOf(A)?.key).toBe(key(2));
  });

  it('keeps registrations per I_T nexus: same initiator through another port or ISID is another nexus', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1)), A);
    expect(pr.registrationOf(nx(1, 2))).toBeUndefined();
    expect(pr.registrationOf(nx(1, 1, '23d000000009'))).toBeUndefined();
    good(pr, register(key(1)), nx(1, 2));
    expect(pr.registrationList()).toHaveLength(2);
  });

  it('ALL_TG_PT registers the initiator port on every target port', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1), { allTargetPorts: true }), A);
    expect(pr.registrationOf(nx(1, 2))?.key).toBe(key(1));
    expect(pr.registrationOf(nx(1, 1, '23d000000009'))).toBeUndefined();
  });

  it('SPEC_I_PT registers the named initiator ports (00b: every port of the name) with the sender', () => {
    const pr = new PersistentReservations();
    good(
      pr,
      register(key(4), {
        transportIds: [
          { name: 'iqn.1994-05.com.example:host2', isid: '23d000000002' },
          { name: 'iqn.1994-05.com.example:host3', isid: null },
        ],
      }),
      A,
    );
    expect(pr.registrationOf(A)?.key).toBe(key(4));
    expect(pr.registrationOf(B)?.key).toBe(key(4));
    expect(pr.registrationOf(nx(3, 1, 'abcdef012345'))?.key).toBe(key(4));
    // Only through the port the command came in on.
    expect(pr.registrationOf(nx(3, 2))).toBeUndefined();
    expect(pr.prGeneration).toBe(1);
  });

  it('SPEC_I_PT naming a registered nexus fails as a whole; from a registered nexus it is refused', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(2)), B);
    const r = pr.apply(register(key(4), { transportIds: [{ name: 'iqn.1994-05.com.example:host2', isid: '23d000000002' }] }), A);
    expect(r.outcome).toBe(PrOutcome.InvalidFieldInParameterList);
    expect(pr.registrationOf(A)).toBeUndefined();
    const again = pr.apply(register(key(3), { reservationKey: key(2), transportIds: [{ name: 'x', isid: null }] }), B);
    expect(again.outcome).toBe(PrOutcome.InvalidFieldInParameterList);
  });

  it('unregistering the holder releases the reservation; registrants-only types tell the others', () => {
    for (const type of PR_TYPES) {
      const pr = reservedBy(type);
      const result = good(pr, register(ZERO_KEY, { reservationKey: key(1) }), A);
      if (isAllRegistrantsType(type)) {
        expect(pr.currentReservation()?.type).toBe(type); // B still holds it
        good(pr, register(ZERO_KEY, { reservationKey: key(2) }), B);
        expect(pr.currentReservation()).toBeNull();
        continue;
      }
      expect(pr.currentReservation()).toBeNull();
      const released = result.attentions.filter((a) => a.code === PrAttention.ReservationsReleased);
      const registrantsOnly = type === PrType.WriteExclusiveRegistrantsOnly || type === PrType.ExclusiveAccessRegistrantsOnly;
      expect(released.length).toBe(registrantsOnly ? 1 : 0);
      if (registrantsOnly) expect(matches(released[0].to, B)).toBe(true);
    }
  });

  it('refuses more registrations than it has room for', () => {
    const pr = new PersistentReservations();
    let last = pr.apply(register(key(1)), nx(1, 1, '000000000000'));
    for (let i = 1; last.outcome === PrOutcome.Good && i < 1000; i++) {
      last = pr.apply(register(key(1)), nx(1, 1, i.toString(16).padStart(12, '0')));
    }
    expect(last.outcome).toBe(PrOutcome.InsufficientRegistrationResources);
  });
});

describe('PersistentReservations: reserve and release', () => {
  it('needs a registration and the right key; a second holder or another type conflicts', () => {
    const pr = new PersistentReservations();
    expect(pr.apply(reserve(key(1), PrType.WriteExclusive), A).outcome).toBe(PrOutcome.ReservationConflict);
    good(pr, register(key(1)), A);
    good(pr, register(key(2)), B);
    expect(pr.apply(reserve(key(9), PrType.WriteExclusive), A).outcome).toBe(PrOutcome.ReservationConflict);
    const made = good(pr, reserve(key(1), PrType.WriteExclusive), A);
    expect(made.changed).toBe(true);
    expect(pr.prGeneration).toBe(2); // RESERVE does not count
    good(pr, reserve(key(1), PrType.WriteExclusive), A); // same holder, same type: no-op
    expect(pr.apply(reserve(key(1), PrType.ExclusiveAccess), A).outcome).toBe(PrOutcome.ReservationConflict);
    expect(pr.apply(reserve(key(2), PrType.WriteExclusive), B).outcome).toBe(PrOutcome.ReservationConflict);
  });

  it('reads the reservation back: holder key, or no holder for all-registrants types', () => {
    for (const type of PR_TYPES) {
      const r = reservedBy(type).currentReservation()!;
      expect(r.type).toBe(type);
      expect(r.holder?.key ?? ZERO_KEY).toBe(isAllRegistrantsType(type) ? ZERO_KEY : key(1));
    }
  });

  it('release: by a non-holder does nothing, with another type is INVALID RELEASE, else releases', () => {
    const pr = reservedBy(PrType.WriteExclusive);
    good(pr, release(key(2), PrType.WriteExclusive), B);
    expect(pr.currentReservation()).not.toBeNull();
    expect(pr.apply(release(key(1), PrType.ExclusiveAccess), A).outcome).toBe(PrOutcome.InvalidRelease);
    expect(pr.apply(release(key(3), PrType.WriteExclusive), A).outcome).toBe(PrOutcome.ReservationConflict);
    const result = good(pr, release(key(1), PrType.WriteExclusive), A);
    expect(pr.currentReservation()).toBeNull();
    expect(result.attentions).toEqual([]); // WE: nobody else is told
  });

  it('releasing a registrants-only or all-registrants reservation raises RESERVATIONS RELEASED', () => {
    for (const type of [PrType.ExclusiveAccessRegistrantsOnly, PrType.WriteExclusiveAllRegistrants]) {
      const pr = reservedBy(type);
      const result = good(pr, release(key(1), type), A);
      expect(result.attentions.map((a) => a.code)).toContain(PrAttention.ReservationsReleased);
      expect(result.attentions.some((a) => matches(a.to, B))).toBe(true);
    }
  });

  it('any registrant may release an all-registrants reservation', () => {
    const pr = reservedBy(PrType.ExclusiveAccessAllRegistrants);
    good(pr, release(key(2), PrType.ExclusiveAccessAllRegistrants), B);
    expect(pr.currentReservation()).toBeNull();
  });
});

describe('PersistentReservations: access (SPC-4 table 62, SBC-3 table 13)', () => {
  // [type, registered non-holder can read, can write, unregistered can read, can write]
  const table: Array<[PrType, boolean, boolean, boolean, boolean]> = [
    [PrType.WriteExclusive, true, false, true, false],
    [PrType.ExclusiveAccess, false, false, false, false],
    [PrType.WriteExclusiveRegistrantsOnly, true, true, true, false],
    [PrType.ExclusiveAccessRegistrantsOnly, true, true, false, false],
    [PrType.WriteExclusiveAllRegistrants, true, true, true, false],
    [PrType.ExclusiveAccessAllRegistrants, true, true, false, false],
  ];
  it.each(table)('type %i', (type, regRead, regWrite, unregRead, unregWrite) => {
    const pr = reservedBy(type);
    expect(pr.active).toBe(true);
    for (const access of [AccessClass.Always, AccessClass.Read, AccessClass.Write, AccessClass.Reservation]) {
      expect(pr.conflicts(A, access)).toBe(false); // the holder
    }
    expect(pr.conflicts(B, AccessClass.Read)).toBe(!regRead);
    expect(pr.conflicts(B, AccessClass.Write)).toBe(!regWrite);
    expect(pr.conflicts(C, AccessClass.Read)).toBe(!unregRead);
    expect(pr.conflicts(C, AccessClass.Write)).toBe(!unregWrite);
    for (const n of [B, C]) {
      expect(pr.conflicts(n, AccessClass.Always)).toBe(false);
      expect(pr.conflicts(n, AccessClass.Reservation)).toBe(false);
    }
  });

  it('registrations alone make nothing conflict', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1)), A);
    expect(pr.active).toBe(false);
    expect(pr.conflicts(C, AccessClass.Write)).toBe(false);
  });
});

describe('PersistentReservations: clear and preempt', () => {
  it('CLEAR drops everything and tells every other registrant RESERVATIONS PREEMPTED', () => {
    const pr = reservedBy(PrType.ExclusiveAccess);
    const generation = pr.prGeneration;
    expect(pr.apply({ kind: 'clear', reservationKey: key(1) }, C).outcome).toBe(PrOutcome.ReservationConflict);
    const result = good(pr, { kind: 'clear', reservationKey: key(2) }, B);
    expect(pr.registrationList()).toEqual([]);
    expect(pr.currentReservation()).toBeNull();
    expect(pr.prGeneration).toBe(generation + 1);
    expect(result.attentions.some((a) => matches(a.to, A) && a.code === PrAttention.ReservationsPreempted)).toBe(true);
  });

  it('PREEMPT without a reservation removes the registrations with that key (REGISTRATIONS PREEMPTED)', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1)), A);
    good(pr, register(key(2)), B);
    good(pr, register(key(2)), C);
    const result = good(pr, preempt(key(1), key(2), PrType.ExclusiveAccess), A);
    expect(pr.registrationList().map((r) => r.key)).toEqual([key(1)]);
    expect(pr.currentReservation()).toBeNull();
    expect(result.attentions.filter((a) => a.code === PrAttention.RegistrationsPreempted)).toHaveLength(2);
    expect(result.abort).toEqual([]);
    expect(pr.apply(preempt(key(1), key(7), PrType.ExclusiveAccess), A).outcome).toBe(PrOutcome.ReservationConflict);
    expect(pr.apply(preempt(key(1), ZERO_KEY, PrType.ExclusiveAccess), A).outcome).toBe(PrOutcome.InvalidFieldInParameterList);
  });

  it('PREEMPT of the holder moves the reservation to the preempting nexus with the new type', () => {
    const pr = reservedBy(PrType.WriteExclusive);
    good(pr, register(key(3)), C);
    const result = good(pr, preempt(key(2), key(1), PrType.ExclusiveAccess), B);
    const r = pr.currentReservation()!;
    expect(r.type).toBe(PrType.ExclusiveAccess);
    expect(r.holder?.key).toBe(key(2));
    expect(pr.registrationOf(A)).toBeUndefined();
    expect(result.attentions).toContainEqual({ to: expect.objectContaining({ initiator: 'iqn.1994-05.com.example:host1' }), code: PrAttention.RegistrationsPreempted });
    // C stays registered and sees the type change as RESERVATIONS RELEASED.
    expect(result.attentions.some((a) => matches(a.to, C) && a.code === PrAttention.ReservationsReleased)).toBe(true);
    expect(pr.conflicts(A, AccessClass.Read)).toBe(true);
  });

  it('PREEMPT with a non-holder key leaves the reservation alone', () => {
    const pr = reservedBy(PrType.WriteExclusive);
    good(pr, register(key(3)), C);
    good(pr, preempt(key(1), key(3), PrType.WriteExclusive), A);
    expect(pr.registrationOf(C)).toBeUndefined();
    expect(pr.currentReservation()?.holder?.key).toBe(key(1));
  });

  it('PREEMPT of an all-registrants reservation with key 0 removes every other registrant', () => {
    const pr = reservedBy(PrType.WriteExclusiveAllRegistrants);
    good(pr, register(key(3)), C);
    const result = good(pr, preempt(key(2), ZERO_KEY, PrType.WriteExclusive), B);
    expect(pr.registrationList().map((r) => r.key)).toEqual([key(2)]);
    expect(pr.currentReservation()).toEqual({ type: PrType.WriteExclusive, holder: expect.objectContaining({ key: key(2) }) });
    expect(result.attentions.filter((a) => a.code === PrAttention.RegistrationsPreempted)).toHaveLength(2);
  });

  it('PREEMPT AND ABORT names the preempted nexuses for the task aborter', () => {
    const pr = reservedBy(PrType.ExclusiveAccess);
    const result = good(pr, preempt(key(2), key(1), PrType.ExclusiveAccess, true), B);
    expect(result.abort).toHaveLength(1);
    expect(matches(result.abort[0], A)).toBe(true);
    expect(matches(result.abort[0], B)).toBe(false);
  });

  it('the holder can preempt itself to change the reservation type', () => {
    const pr = reservedBy(PrType.WriteExclusive);
    good(pr, preempt(key(1), key(1), PrType.ExclusiveAccess), A);
    expect(pr.currentReservation()?.type).toBe(PrType.ExclusiveAccess);
    expect(pr.registrationOf(A)?.key).toBe(key(1));
    expect(pr.registrationOf(B)?.key).toBe(key(2));
  });
});

describe('PersistentReservations: register and move', () => {
  const move = (extra: Partial<Extract<PrOperation, { kind: 'registerAndMove' }>> = {}): PrOperation => ({
    kind: 'registerAndMove',
    reservationKey: key(1),
    serviceActionKey: key(8),
    type: PrType.WriteExclusive,
    unregister: false,
    aptpl: false,
    transportId: { name: 'iqn.1994-05.com.example:host3', isid: '23d000000003' },
    targetPortName: port(1),
    relativeTargetPortId: 1,
    ...extra,
  });

  it('moves the reservation to another I_T nexus, registering it', () => {
    const pr = reservedBy(PrType.ExclusiveAccess);
    good(pr, move({ type: PrType.ExclusiveAccess }), A);
    expect(pr.registrationOf(C)?.key).toBe(key(8));
    expect(pr.currentReservation()?.holder?.key).toBe(key(8));
    expect(pr.registrationOf(A)?.key).toBe(key(1));
    expect(pr.conflicts(A, AccessClass.Read)).toBe(true);
    expect(pr.conflicts(C, AccessClass.Write)).toBe(false);
  });

  it('UNREG drops the mover; APTPL follows the parameter list', () => {
    const pr = reservedBy(PrType.WriteExclusive);
    good(pr, move({ unregister: true, aptpl: true }), A);
    expect(pr.registrationOf(A)).toBeUndefined();
    expect(pr.currentReservation()?.holder?.key).toBe(key(8));
    expect(pr.persistThroughPowerLoss).toBe(true);
  });

  it('refuses a non-holder, an all-registrants reservation, key 0 and the sender itself', () => {
    expect(reservedBy(PrType.WriteExclusive).apply(move({ reservationKey: key(2) }), B).outcome).toBe(PrOutcome.ReservationConflict);
    expect(reservedBy(PrType.WriteExclusiveAllRegistrants).apply(move(), A).outcome).toBe(PrOutcome.ReservationConflict);
    expect(reservedBy(PrType.WriteExclusive).apply(move({ serviceActionKey: ZERO_KEY }), A).outcome).toBe(
      PrOutcome.InvalidFieldInParameterList,
    );
    const self = move({ transportId: { name: 'iqn.1994-05.com.example:host1', isid: '23d000000001' } });
    expect(reservedBy(PrType.WriteExclusive).apply(self, A).outcome).toBe(PrOutcome.InvalidFieldInParameterList);
  });
});

describe('PersistentReservations: RESERVE(6)', () => {
  it('one nexus at a time; every other command conflicts; RELEASE from others does nothing', () => {
    const pr = new PersistentReservations();
    good(pr, { kind: 'reserve6' }, A);
    good(pr, { kind: 'reserve6' }, A);
    expect(pr.apply({ kind: 'reserve6' }, B).outcome).toBe(PrOutcome.ReservationConflict);
    expect(pr.conflicts(B, AccessClass.Always)).toBe(true);
    expect(pr.conflicts(B, AccessClass.Read)).toBe(true);
    expect(pr.conflicts(A, AccessClass.Write)).toBe(false);
    expect(pr.conflicts(B, AccessClass.Reservation)).toBe(false);
    good(pr, { kind: 'release6' }, B);
    expect(pr.legacyHeldBy(A)).toBe(true);
    good(pr, { kind: 'release6' }, A);
    expect(pr.active).toBe(false);
  });

  it('ends with nexus loss of the holder and with resets, not with loss of another nexus', () => {
    const pr = new PersistentReservations();
    good(pr, { kind: 'reserve6' }, A);
    good(pr, { kind: 'nexusLost' }, B);
    expect(pr.legacyHeldBy(A)).toBe(true);
    good(pr, { kind: 'nexusLost' }, A);
    expect(pr.active).toBe(false);
    good(pr, { kind: 'reserve6' }, A);
    good(pr, { kind: 'reset' }, B);
    expect(pr.active).toBe(false);
  });

  it('conflicts with persistent reservations both ways', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1)), A);
    expect(pr.apply({ kind: 'reserve6' }, A).outcome).toBe(PrOutcome.ReservationConflict);
    expect(pr.apply({ kind: 'release6' }, A).outcome).toBe(PrOutcome.ReservationConflict);
    const legacy = new PersistentReservations();
    good(legacy, { kind: 'reserve6' }, A);
    expect(legacy.apply(register(key(1)), A).outcome).toBe(PrOutcome.ReservationConflict);
    expect(legacy.apply(register(key(1)), B).outcome).toBe(PrOutcome.ReservationConflict);
  });

  it('persistent reservations survive nexus loss and resets', () => {
    const pr = reservedBy(PrType.ExclusiveAccess);
    good(pr, { kind: 'nexusLost' }, A);
    good(pr, { kind: 'reset' }, A);
    expect(pr.currentReservation()?.holder?.key).toBe(key(1));
  });
});

describe('PersistentReservations: state transfer', () => {
  const script: Array<[PrOperation, PrNexus]> = [
    [register(key(1), { aptpl: true }), A],
    [register(key(2), { allTargetPorts: true, aptpl: true }), B],
    [register(key(3), { aptpl: true, transportIds: [{ name: 'iqn.1994-05.com.example:host4', isid: null }] }), C],
    [reserve(key(1), PrType.ExclusiveAccessRegistrantsOnly), A],
    [preempt(key(2), key(3), PrType.ExclusiveAccessRegistrantsOnly), nx(2, 5)],
    [{ kind: 'reserve6' }, C],
  ];

  it('is deterministic: a partner fed the same operations ends in the same state, with the same effects', () => {
    const primary = new PersistentReservations();
    const partner = new PersistentReservations();
    for (const [op, n] of script) {
      const wire = JSON.parse(JSON.stringify({ op, n })) as { op: PrOperation; n: PrNexus };
      expect(partner.apply(wire.op, wire.n)).toEqual(primary.apply(op, n));
    }
    expect(partner.snapshot()).toEqual(primary.snapshot());
  });

  it('snapshot/restore round-trips through JSON; the power-loss view keeps APTPL state only', () => {
    const pr = new PersistentReservations();
    for (const [op, n] of script) pr.apply(op, n);
    const copy = new PersistentReservations(JSON.parse(JSON.stringify(pr.snapshot())));
    expect(copy.snapshot()).toEqual(pr.snapshot());
    expect(copy.conflicts(nx(9), AccessClass.Read)).toBe(pr.conflicts(nx(9), AccessClass.Read));
    const afterPowerLoss = new PersistentReservations(pr.powerLossSnapshot()!);
    expect(afterPowerLoss.legacyReserved).toBe(false);
    expect(afterPowerLoss.registrationList()).toEqual(pr.registrationList());
    expect(afterPowerLoss.prGeneration).toBe(pr.prGeneration);
  });

  it('without APTPL nothing survives a power loss', () => {
    const pr = new PersistentReservations();
    good(pr, register(key(1), { aptpl: true }), A);
    expect(pr.powerLossSnapshot()).not.toBeNull();
    good(pr, register(key(2), { reservationKey: key(1), aptpl: false }), A);
    expect(pr.powerLossSnapshot()).toBeNull();
  });

  it('refuses a snapshot whose reservation holder is not a registration', () => {
    const bad = { ...new PersistentReservations().snapshot(), reservation: { type: PrType.WriteExclusive, holder: 3 } };
    expect(() => new PersistentReservations(bad)).toThrow(/holder/);
  });
});
