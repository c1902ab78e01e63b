import { cdb10, cdb16, fixture } from './harness.spec-helper';
import { firstDifference } from './compareAndWrite';
import { thinFixture } from './thinStore.spec-helper';

const CAW = 0x89;
const WRITE10 = 0x2a;
const READ10 = 0x28;

function cawCdb(lba: number, blocks: number, byte1 = 0): number[] {
  const cdb = cdb16(CAW, lba, 0, byte1);
  cdb[10] = cdb[11] = cdb[12] = 0;
  cdb[13] = blocks;
  return cdb;
}

describe.each([512, 4096])('COMPARE AND WRITE with %i-byte blocks', (bs) => {
  it('writes the second half when the medium equals the first half', async () => {
    const f = await fixture(bs, 64);
    await f.run(cdb10(WRITE10, 5, 2), { dataOut: Buffer.alloc(2 * bs, 'A') });
    const data = Buffer.concat([Buffer.alloc(2 * bs, 'A'), Buffer.alloc(2 * bs, 'B')]);
    const r = await f.run(cawCdb(5, 2), { dataOut: data });
    expect(r.status).toBe(0);
    expect(r.task.dataOutWanted).toBe(4 * bs);
    expect((await f.run(cdb10(READ10, 5, 2))).data).toEqual(Buffer.alloc(2 * bs, 'B'));
  });

  it('reports MISCOMPARE with the offset of the first differing byte and leaves the medium alone', async () => {
    const f = await fixture(bs, 64);
    await f.run(cdb10(WRITE10, 0, 3), { dataOut: Buffer.alloc(3 * bs, 'A') });
    for (const offset of [0, 1, bs - 1, bs + 17, 3 * bs - 27]) {
      const verify = Buffer.alloc(3 * bs, 'A');
      verify[offset] = 'Z'.charCodeAt(0);
      const r = await f.run(cawCdb(0, 3), { dataOut: Buffer.concat([verify, Buffer.alloc(3 * bs, 'B')]) });
      expect([r.status, r.key, r.asc, r.ascq]).toEqual([2, 0x0e, 0x1d, 0x00]);
      const sense = r.task.sense!;
      expect(sense[0] & 0x80).toBe(0x80); // VALID
      expect(sense.readUInt32BE(3)).toBe(offset); // INFORMATION
    }
    expect(f.store.data.subarray(0, 3 * bs).every((b) => b === 'A'.charCodeAt(0))).toBe(true);
  });

  it('refuses more blocks than MAXIMUM COMPARE AND WRITE LENGTH and a Data-Out of the wrong size', async () => {
    const f = await fixture(bs, 4096);
    const max = f.lu.maxCompareAndWriteBlocks;
    expect(max).toBeGreaterThan(1);
    if (max < 255) {
      const r = await f.run(cawCdb(0, max + 1), { dataOut: Buffer.alloc(2 * (max + 1) * bs) });
      expect([r.key, r.asc]).toEqual([5, 0x24]);
    }
    // Data-Out of 4 blocks for NUMBER OF LOGICAL BLOCKS 1 (too large) and 3 (too small).
    for (const n of [1, 3]) {
      const r = await f.run(cawCdb(0, n), { dataOut: Buffer.alloc(4 * bs) });
      expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x24]);
    }
    expect(f.store.writes).toHaveLength(0);
  });

  it('treats 0 blocks as nothing to do, checks the LBA and the protection field', async () => {
    const f = await fixture(bs, 64);
    expect((await f.run(cawCdb(3, 0), { read: false, expectedLength: 0 })).status).toBe(0);
    expect((await f.run(cawCdb(65, 0), { read: false, expectedLength: 0 })).asc).toBe(0x21);
    expect((await f.run(cawCdb(63, 2), { dataOut: Buffer.alloc(4 * bs) })).asc).toBe(0x21);
    expect((await f.run(cawCdb(0, 1, 0x20), { dataOut: Buffer.alloc(2 * bs) })).asc).toBe(0x24);
  });

  it('honours FUA', async () => {
    const f = await fixture(bs, 64);
    await f.run(cawCdb(0, 1, 0x08), { dataOut: Buffer.alloc(2 * bs) });
    expect(f.store.writes.map((w) => [w.position, w.length, w.fua])).toEqual([[0, bs, true]]);
  });
});

describe('COMPARE AND WRITE atomicity', () => {
  it('a WRITE to the same blocks waits for the read-compare-write to finish', async () => {
    const f = await thinFixture(512, 64);
    await f.run(cdb10(WRITE10, 8, 1), { dataOut: Buffer.alloc(512, 'A') });
    let openGate!: () => void;
    f.store.readGate = new Promise((r) => (openGate = r));
    const caw = f.run(cawCdb(8, 1), { dataOut: Buffer.concat([Buffer.alloc(512, 'A'), Buffer.alloc(512, 'B')]) });
    await new Promise((r) => setImmediate(r));
    const write = f.run(cdb10(WRITE10, 8, 1), { dataOut: Buffer.alloc(512, 'C') });
    // A write elsewhere is not held up.
    expect((await f.run(cdb10(WRITE10, 20, 1), { dataOut: Buffer.alloc(512, 'D') })).status).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(f.store.writes.filter((w) => w.position === 8 * 512)).toHaveLength(1); // only the first 'A'
    openGate();
    expect((await caw).status).toBe(0);
    expect((await write).status).toBe(0);
    expect(f.store.data.subarray(8 * 512, 9 * 512).every((b) => b === 'C'.charCodeAt(0))).toBe(true);
    expect(f.lu.lbaLock.held).toBe(0);
  });
});

describe('firstDifference', () => {
  it('finds the first differing byte across 4 KiB chunks', () => {
    const a = Buffer.alloc(20000, 1);
    const b = Buffer.alloc(20000, 1);
    expect(firstDifference(a, b, 20000)).toBe(-1);
    b[12345] = 2;
    expect(firstDifference(a, b, 20000)).toBe(12345);
    b[4096] = 2;
    expect(firstDifference(a, b, 20000)).toBe(4096);
    expect(firstDifference(a, b, 4096)).toBe(-1);
  });
});
