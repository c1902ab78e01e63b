import { LogicalUnit } from './logicalUnit';
import { MemoryBlockStore, fixture, nexus, runCommand } from './harness.spec-helper';

const REPORT_LUNS = [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];

function newLu(id: string): LogicalUnit {
  return new LogicalUnit({ store: new MemoryBlockStore(512, 512 * 64), identity: { deviceId: id } });
}

describe('ScsiTarget', () => {
  it('REPORT LUNS lists the LUNs in order, from any LUN, and rejects unknown SELECT REPORT', async () => {
    const f = await fixture();
    f.target.addLun(300, newLu('b'));
    f.target.addLun(2, newLu('c'));
    const r = await f.run(REPORT_LUNS, { lun: 77 });
    expect(r.status).toBe(0);
    expect(r.data.readUInt32BE(0)).toBe(24);
    expect([...r.data.subarray(8, 10)]).toEqual([0, 0]);
    expect([...r.data.subarray(16, 18)]).toEqual([0, 2]);
    expect([...r.data.subarray(24, 26)]).toEqual([0x41, 0x2c]);
    expect(f.target.luns()).toEqual([0, 2, 300]);
    const wellKnown = await f.run([0xa0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(wellKnown.data.readUInt32BE(0)).toBe(0);
    expect((await f.run([0xa0, 0, 9, 0, 0, 0, 0, 0, 1, 0, 0, 0])).asc).toBe(0x24);
  });

  it('adding a LUN raises REPORTED LUNS DATA HAS CHANGED, cleared by REPORT LUNS', async () => {
    const f = await fixture();
    f.target.addLun(1, newLu('b'));
    expect((await f.run(REPORT_LUNS)).status).toBe(0);
    expect((await f.run([0, 0, 0, 0, 0, 0])).status).toBe(0);
    f.target.addLun(2, newLu('c'));
    const r = await f.run([0, 0, 0, 0, 0, 0]);
    expect([r.key, r.asc, r.ascq]).toEqual([6, 0x3f, 0x0e]);
    // The new LU has no pending condition for a nexus that already knew the target.
    expect((await f.run([0, 0, 0, 0, 0, 0], { lun: 2 })).status).toBe(0);
    expect(() => f.target.addLun(2, newLu('d'))).toThrow(/already/);
    expect(f.target.removeLun(2)).toBeDefined();
    expect(f.target.hasLun(2)).toBe(false);
  });

  it('for a LUN without a LU: REQUEST SENSE says LOGICAL UNIT NOT SUPPORTED, other commands fail with it', async () => {
    const f = await fixture();
    const sense = await f.run([0x03, 0, 0, 0, 252, 0], { lun: 4 });
    expect(sense.status).toBe(0);
    expect([sense.data[2], sense.data[12], sense.data[13]]).toEqual([5, 0x25, 0]);
    const tur = await f.run([0, 0, 0, 0, 0, 0], { lun: 4 });
    expect([tur.status, tur.key, tur.asc]).toEqual([2, 5, 0x25]);
  });

  it('an unknown opcode is INVALID COMMAND OPERATION CODE, after any unit attention', async () => {
    const f = await fixture(512, 64, false);
    expect((await f.run([0xc5, 0, 0, 0, 0, 0])).key).toBe(6);
    const r = await f.run([0xc5, 0, 0, 0, 0, 0]);
    expect([r.status, r.key, r.asc, r.ascq]).toEqual([2, 5, 0x20, 0]);
  });

  it('rejects NACA in the control byte', async () => {
    const f = await fixture();
    const r = await f.run([0, 0, 0, 0, 0, 0x04]);
    expect([r.status, r.asc]).toEqual([2, 0x24]);
    expect(r.task.sense!.readUInt16BE(16)).toBe(5);
  });

  it('turns an unexpected exception into HARDWARE ERROR without rejecting', async () => {
    const f = await fixture();
    Object.defineProperty(f.lu, 'blockCount', { get: () => { throw new Error('bug'); } });
    const r = await f.run([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect([r.status, r.key, r.asc]).toEqual([2, 4, 0x44]);
  });

  it('START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL succeed for the fixed disk', async () => {
    const f = await fixture();
    expect((await f.run([0x1b, 0, 0, 0, 0x01, 0])).status).toBe(0);
    expect((await f.run([0x1b, 1, 0, 0, 0x00, 0])).status).toBe(0);
    expect(f.store.flushes).toBe(1);
    expect((await f.run([0x1b, 0, 0, 0, 0x04, 0])).status).toBe(0);
    expect(f.store.flushes).toBe(1);
    expect((await f.run([0x1b, 0, 0, 0, 0x02, 0])).asc).toBe(0x24); // eject
    expect((await f.run([0x1b, 0, 0, 0, 0x40, 0])).asc).toBe(0x24); // power condition 4
    expect((await f.run([0x1e, 0, 0, 0, 1, 0])).status).toBe(0);
    expect((await f.run([0x1e, 0, 0, 0, 0, 0])).status).toBe(0);
    expect((await f.run([0x1e, 0, 0, 0, 2, 0])).asc).toBe(0x24);
  });

  it('runs reads and writes concurrently', async () => {
    const f = await fixture(512, 1024);
    const writes = Array.from({ length: 32 }, (_, i) =>
      runCommand(f.target, [0x2a, 0, 0, 0, 0, i, 0, 0, 1, 0], { dataOut: Buffer.alloc(512, i), nexus: nexus(1) }),
    );
    expect((await Promise.all(writes)).every((r) => r.status === 0)).toBe(true);
    const reads = await Promise.all(Array.from({ length: 32 }, (_, i) => f.run([0x28, 0, 0, 0, 0, i, 0, 0, 1, 0])));
    reads.forEach((r, i) => expect(r.data[0]).toBe(i));
  });
});
