import { LogicalUnit } from './logicalUnit';
import { ScsiTarget } from './scsiTarget';
import { MemoryBlockStore, cdb10, cdb16, nexus, runCommand } from './harness.spec-helper';

describe('a write-protected LU (readOnly: an exported snapshot)', () => {
  async function readOnlyTarget() {
    const store = new MemoryBlockStore(512, 512 * 256);
    store.data.fill(0x5a);
    const lu = new LogicalUnit({ store, identity: { deviceId: 'snap-1', name: 'snap' }, readOnly: true });
    const target = new ScsiTarget({ luns: [[0, lu]] });
    target.nexusLoggedIn(nexus(1));
    await runCommand(target, [0, 0, 0, 0, 0, 0]);
    return { store, run: (cdb: number[] | Buffer, o = {}) => runCommand(target, cdb, o) };
  }

  it('refuses every command that changes the medium with DATA PROTECT / WRITE PROTECTED, and changes nothing', async () => {
    const { store, run } = await readOnlyTarget();
    const block = Buffer.alloc(512, 0x11);
    const refusals = [
      await run(cdb10(0x2a, 0, 1), { dataOut: block }), // WRITE (10)
      await run(cdb16(0x8a, 0, 1), { dataOut: block }), // WRITE (16)
      await run(cdb10(0x2e, 0, 1), { dataOut: block }), // WRITE AND VERIFY (10)
      await run(cdb10(0x41, 0, 4), { dataOut: block }), // WRITE SAME (10)
      await run(cdb16(0x93, 0, 4), { dataOut: block }), // WRITE SAME (16)
      await run([0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], { dataOut: Buffer.concat([Buffer.alloc(512, 0x5a), block]) }), // COMPARE AND WRITE
    ];
    for (const r of refusals) expect([r.status, r.key, r.asc, r.ascq]).toEqual([2, 0x07, 0x27, 0x00]);
    expect(store.data.every((b) => b === 0x5a)).toBe(true);
  });

  it('reads, and reports WP in the mode parameter header (MODE SENSE 6 and 10)', async () => {
    const { run } = await readOnlyTarget();
    const read = await run(cdb10(0x28, 8, 2));
    expect(read.status).toBe(0);
    expect(read.data.equals(Buffer.alloc(1024, 0x5a))).toBe(true);
    expect((await run([0x1a, 0, 0x3f, 0, 0xff, 0])).data[2] & 0x80).toBe(0x80);
    expect((await run([0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 0xff, 0])).data[3] & 0x80).toBe(0x80);
  });
});
