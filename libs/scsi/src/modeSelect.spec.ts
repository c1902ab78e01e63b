import { decodeSense } from './sense';
import { fixture, nexus } from './harness.spec-helper';

async function currentPage(f: Awaited<ReturnType<typeof fixture>>, page: number): Promise<Buffer> {
  const r = await f.run([0x1a, 0x08, page, 0, 255, 0]);
  return Buffer.from(r.data.subarray(4));
}

function select6(list: Buffer, byte1 = 0x10): number[] {
  return [0x15, byte1, 0, 0, list.length, 0];
}

function list6(page: Buffer, blockDescriptor?: Buffer): Buffer {
  const header = Buffer.from([0, 0, 0, blockDescriptor?.length ?? 0]);
  return Buffer.concat([header, blockDescriptor ?? Buffer.alloc(0), page]);
}

describe('MODE SELECT', () => {
  it('changes D_SENSE, after which sense comes in descriptor format, and back', async () => {
    const f = await fixture();
    const control = await currentPage(f, 0x0a);
    control[2] |= 0x04;
    const r = await f.run(select6(list6(control)), { dataOut: list6(control) });
    expect(r.status).toBe(0);
    const oob = await f.run([0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0]);
    expect(oob.task.sense![0]).toBe(0x72);
    expect(decodeSense(oob.task.sense!)).toMatchObject({ key: 5, asc: 0x21 });
    control[2] &= ~0x04;
    await f.run(select6(list6(control)), { dataOut: list6(control) });
    const again = await f.run([0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0]);
    expect(again.task.sense![0]).toBe(0x70);
  });

  it('clears WCE through MODE SELECT (10) and raises MODE PARAMETERS CHANGED on other nexuses only', async () => {
    const f = await fixture();
    f.target.nexusLoggedIn(nexus(2));
    await f.run([0, 0, 0, 0, 0, 0], { nexus: nexus(2) }); // consume power-on
    const caching = await currentPage(f, 0x08);
    caching[2] &= ~0x04;
    const list = Buffer.concat([Buffer.alloc(8), caching]);
    const r = await f.run([0x55, 0x10, 0, 0, 0, 0, 0, 0, list.length, 0], { dataOut: list });
    expect(r.status).toBe(0);
    expect(f.lu.modePages.writeCacheEnabled).toBe(false);
    expect((await f.run([0, 0, 0, 0, 0, 0])).status).toBe(0);
    const other = await f.run([0, 0, 0, 0, 0, 0], { nexus: nexus(2) });
    expect([other.status, other.key, other.asc, other.ascq]).toEqual([2, 6, 0x2a, 0x01]);
  });

  it('accepts a block descriptor restating the geometry and rejects a different block size', async () => {
    const f = await fixture(512, 2048);
    const caching = await currentPage(f, 0x08);
    const bd = Buffer.alloc(8);
    bd.writeUIntBE(512, 5, 3);
    expect((await f.run(select6(list6(caching, bd)), { dataOut: list6(caching, bd) })).status).toBe(0);
    bd.writeUIntBE(4096, 5, 3);
    const r = await f.run(select6(list6(caching, bd)), { dataOut: list6(caching, bd) });
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x26]);
    expect(r.task.sense!.readUInt16BE(16)).toBe(9);
  });

  it('rejects changing a bit that is not changeable, with a field pointer, and changes nothing', async () => {
    const f = await fixture();
    const control = await currentPage(f, 0x0a);
    control[4] |= 0x08; // SWP
    const r = await f.run(select6(list6(control)), { dataOut: list6(control) });
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x26]);
    expect(r.task.sense![15]).toBe(0x80);
    expect(r.task.sense!.readUInt16BE(16)).toBe(4 + 4);
    expect((await currentPage(f, 0x0a))[4] & 0x08).toBe(0);
  });

  it('rejects SP, PS, unknown pages, wrong page lengths and short lists', async () => {
    const f = await fixture();
    const caching = await currentPage(f, 0x08);
    expect((await f.run(select6(list6(caching), 0x11), { dataOut: list6(caching) })).asc).toBe(0x24);
    const ps = Buffer.from(caching);
    ps[0] |= 0x80;
    expect((await f.run(select6(list6(ps)), { dataOut: list6(ps) })).asc).toBe(0x26);
    const unknown = Buffer.from([0x19, 0x06, 0, 0, 0, 0, 0, 0]);
    expect((await f.run(select6(list6(unknown)), { dataOut: list6(unknown) })).asc).toBe(0x26);
    const wrongLength = Buffer.from(caching.subarray(0, 10));
    wrongLength[1] = 8;
    expect((await f.run(select6(list6(wrongLength)), { dataOut: list6(wrongLength) })).asc).toBe(0x26);
    const truncated = list6(caching).subarray(0, 10);
    expect((await f.run([0x15, 0x10, 0, 0, 10, 0], { dataOut: truncated })).asc).toBe(0x1a);
    expect((await f.run([0x15, 0x10, 0, 0, 2, 0], { dataOut: Buffer.alloc(2) })).asc).toBe(0x1a);
    expect((await f.run([0x15, 0x10, 0, 0, 0, 0])).status).toBe(0);
  });

  it('LOGICAL UNIT RESET restores the defaults', async () => {
    const f = await fixture();
    const caching = await currentPage(f, 0x08);
    caching[2] &= ~0x04;
    await f.run(select6(list6(caching)), { dataOut: list6(caching) });
    expect(f.target.resetLun(0)).toBe(true);
    expect(f.lu.modePages.writeCacheEnabled).toBe(true);
  });
});
