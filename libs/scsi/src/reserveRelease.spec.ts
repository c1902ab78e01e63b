import { cdb10, fixture, nexus } from './harness.spec-helper';
import { prOut } from './prSpecHelpers.spec-helper';
import { ScsiStatus } from './task';

const RESERVE6 = [0x16, 0, 0, 0, 0, 0];
const RELEASE6 = [0x17, 0, 0, 0, 0, 0];
const RESERVE10 = [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const RELEASE10 = [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const TUR = [0, 0, 0, 0, 0, 0];
const A = nexus(1);
const B = nexus(2);

async function twoInitiators() {
  const f = await fixture();
  f.target.nexusLoggedIn(B);
  await f.run(TUR, { nexus: B });
  return f;
}

describe('RESERVE / RELEASE (6) and (10)', () => {
  it('reserves for one I_T nexus; others conflict except INQUIRY, REPORT LUNS, REQUEST SENSE and RELEASE', async () => {
    const { run } = await twoInitiators();
    expect((await run(RESERVE6)).status).toBe(ScsiStatus.Good);
    expect((await run(RESERVE6)).status).toBe(ScsiStatus.Good);
    expect((await run(RESERVE6, { nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run([0x1a, 0, 0x3f, 0, 255, 0], { nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run(TUR, { nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run(cdb10(0x28, 0, 1), { nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run([0x12, 0, 0, 0, 96, 0], { nexus: B })).status).toBe(ScsiStatus.Good);
    expect((await run([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], { nexus: B })).status).toBe(ScsiStatus.Good);
    expect((await run([0x03, 0, 0, 0, 18, 0], { nexus: B })).status).toBe(ScsiStatus.Good);
    expect((await run(RELEASE6, { nexus: B })).status).toBe(ScsiStatus.Good); // no effect
    expect((await run(cdb10(0x28, 0, 1))).status).toBe(ScsiStatus.Good);
    expect((await run(RELEASE6)).status).toBe(ScsiStatus.Good);
    expect((await run(RESERVE10, { nexus: B })).status).toBe(ScsiStatus.Good);
    expect((await run(TUR)).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run(RELEASE10, { nexus: B })).status).toBe(ScsiStatus.Good);
    expect((await run(TUR)).status).toBe(ScsiStatus.Good);
  });

  it('ends with nexus loss of the holder, LOGICAL UNIT RESET and target reset', async () => {
    const { target, run } = await twoInitiators();
    await run(RESERVE6);
    target.nexusLost(B);
    expect((await run(RESERVE6, { nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
    target.nexusLost(A);
    expect((await run(RESERVE6, { nexus: B })).status).toBe(ScsiStatus.Good);
    target.resetLun(0);
    await run(TUR);
    expect((await run(RESERVE6)).status).toBe(ScsiStatus.Good);
    target.resetTarget();
    await run(TUR, { nexus: B });
    expect((await run(RESERVE6, { nexus: B })).status).toBe(ScsiStatus.Good);
    // A re-login of a known nexus is a nexus loss too.
    target.nexusLoggedIn(B);
    await run(TUR);
    expect((await run(RESERVE6)).status).toBe(ScsiStatus.Good);
  });

  it('conflicts with persistent reservations both ways', async () => {
    const { run } = await twoInitiators();
    const { cdb, dataOut } = prOut(0x00, { sark: 5n });
    expect((await run(cdb, { dataOut })).status).toBe(ScsiStatus.Good);
    expect((await run(RESERVE6)).status).toBe(ScsiStatus.ReservationConflict);
    expect((await run(RELEASE6, { nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
    const unregister = prOut(0x00, { key: 5n, sark: 0n });
    await run(unregister.cdb, { dataOut: unregister.dataOut });
    expect((await run(RESERVE6)).status).toBe(ScsiStatus.Good);
    const register = prOut(0x00, { sark: 6n });
    expect((await run(register.cdb, { dataOut: register.dataOut, nexus: B })).status).toBe(ScsiStatus.ReservationConflict);
  });

  it('refuses the obsolete third-party and extent forms', async () => {
    const { run } = await twoInitiators();
    expect((await run([0x16, 0x01, 0, 0, 0, 0])).asc).toBe(0x24);
    expect((await run([0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0])).asc).toBe(0x24);
  });
});
