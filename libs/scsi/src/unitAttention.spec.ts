import { fixture, nexus, runCommand } from './harness.spec-helper';
import { UnitAttentions } from './unitAttention';

const TUR = [0, 0, 0, 0, 0, 0];
const INQUIRY = [0x12, 0, 0, 0, 96, 0];
const REPORT_LUNS = [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
const REQUEST_SENSE = [0x03, 0, 0, 0, 18, 0];

describe('unit attentions', () => {
  it('a new nexus gets POWER ON, RESET once; INQUIRY and REPORT LUNS neither report nor clear it', async () => {
    const f = await fixture(512, 64, false);
    f.target.nexusLoggedIn(nexus(1));
    expect((await f.run(INQUIRY)).status).toBe(0);
    expect((await f.run(REPORT_LUNS)).status).toBe(0);
    const first = await f.run(TUR);
    expect([first.status, first.key, first.asc, first.ascq]).toEqual([2, 6, 0x29, 0x00]);
    expect((await f.run(TUR)).status).toBe(0);
  });

  it('a nexus the transport never announced is treated as new', async () => {
    const f = await fixture(512, 64, false);
    const r = await f.run([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect([r.status, r.key, r.asc]).toEqual([2, 6, 0x29]);
  });

  it('REQUEST SENSE returns the pending unit attention with GOOD status and clears it', async () => {
    const f = await fixture(512, 64, false);
    f.target.nexusLoggedIn(nexus(1));
    const r = await f.run(REQUEST_SENSE);
    expect(r.status).toBe(0);
    expect([r.data[2], r.data[12], r.data[13]]).toEqual([6, 0x29, 0x00]);
    const after = await f.run(REQUEST_SENSE);
    expect([after.data[2], after.data[12]]).toEqual([0, 0]);
    expect((await f.run(TUR)).status).toBe(0);
  });

  it('LUN reset raises BUS DEVICE RESET FUNCTION OCCURRED on every nexus', async () => {
    const f = await fixture();
    await runCommand(f.target, TUR, { nexus: nexus(2) });
    f.target.resetLun(0);
    for (const n of [nexus(1), nexus(2)]) {
      const r = await runCommand(f.target, TUR, { nexus: n });
      expect([r.key, r.asc, r.ascq]).toEqual([6, 0x29, 0x03]);
    }
    expect(f.target.resetLun(9)).toBe(false);
  });

  it('growLun raises CAPACITY DATA HAS CHANGED and READ CAPACITY shows the new size', async () => {
    const f = await fixture(512, 64);
    await f.target.growLun(0, 512 * 128);
    const r = await f.run([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([r.key, r.asc, r.ascq]).toEqual([6, 0x2a, 0x09]);
    const rc = await f.run([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(rc.data.readUInt32BE(0)).toBe(127);
    expect((await f.run([0x28, 0, 0, 0, 0, 100, 0, 0, 1, 0])).status).toBe(0);
  });

  it('a re-login of a known nexus reports I_T NEXUS LOSS OCCURRED', async () => {
    const f = await fixture();
    f.target.nexusLoggedIn(nexus(1));
    const r = await f.run(TUR);
    expect([r.key, r.asc, r.ascq]).toEqual([6, 0x29, 0x07]);
    expect((await f.run(TUR)).status).toBe(0);
  });

  it('reports queued conditions oldest first, one per command; a reset supersedes earlier ones', () => {
    const ua = new UnitAttentions();
    ua.track('a');
    ua.raise('a', 0x2a01);
    ua.raise('a', 0x2a09);
    ua.raise('a', 0x2a01);
    expect(ua.pending('a')).toEqual([0x2a01, 0x2a09]);
    expect(ua.take('a')).toBe(0x2a01);
    ua.raise('a', 0x2903);
    expect(ua.pending('a')).toEqual([0x2903]);
    expect(ua.take('a')).toBe(0x2903);
    expect(ua.take('a')).toBe(-1);
  });
});
