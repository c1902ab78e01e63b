import { cdb10, fixture } from './harness.spec-helper';
import { Asc } from './sense';
import { thinFixture } from './thinStore.spec-helper';
import { parseUnmapParameterList } from './unmap';

const UNMAP = 0x42;
const WRITE10 = 0x2a;
const READ10 = 0x28;

/** An UNMAP parameter list; `describedBytes` overrides UNMAP BLOCK DESCRIPTOR DATA LENGTH. */
function unmapList(extents: Array<[number, number]>, describedBytes?: number): Buffer {
  const list = Buffer.alloc(8 + 16 * extents.length);
  const descriptorBytes = describedBytes ?? 16 * extents.length;
  list.writeUInt16BE(6 + descriptorBytes, 0);
  list.writeUInt16BE(descriptorBytes, 2);
  extents.forEach(([lba, blocks], i) => {
    list.writeBigUInt64BE(BigInt(lba), 8 + 16 * i);
    list.writeUInt32BE(blocks, 16 + 16 * i);
  });
  return list;
}

function unmapCdb(listLength: number, anchor = false): number[] {
  return [UNMAP, anchor ? 1 : 0, 0, 0, 0, 0, 0, (listLength >> 8) & 0xff, listLength & 0xff, 0];
}

const limits = { blockCount: 1000, maxDescriptors: 4, maxBlocks: 100 };

describe('parseUnmapParameterList', () => {
  it('decodes descriptors and drops zero-length ones', () => {
    const list = unmapList([[10, 5], [0, 0], [990, 10]]);
    expect(parseUnmapParameterList(list, list.length, limits)).toEqual({
      ok: true,
      extents: [{ lba: 10, blocks: 5 }, { lba: 990, blocks: 10 }],
    });
  });

  it('accepts an empty list and a header without descriptors', () => {
    expect(parseUnmapParameterList(Buffer.alloc(0), 0, limits)).toEqual({ ok: true, extents: [] });
    expect(parseUnmapParameterList(unmapList([]), 8, limits)).toEqual({ ok: true, extents: [] });
  });

  it('refuses a list shorter than its header: PARAMETER LIST LENGTH ERROR', () => {
    expect(parseUnmapParameterList(Buffer.alloc(7), 7, limits)).toEqual({ ok: false, asc: Asc.ParameterListLengthError });
  });

  it('ignores a descriptor cut short by the descriptor data length or by the list length', () => {
    const list = unmapList([[1, 1], [2, 2]], 24);
    expect(parseUnmapParameterList(list, list.length, limits)).toEqual({ ok: true, extents: [{ lba: 1, blocks: 1 }] });
    const full = unmapList([[1, 1], [2, 2]]);
    expect(parseUnmapParameterList(full, full.length - 1, limits)).toEqual({ ok: true, extents: [{ lba: 1, blocks: 1 }] });
  });

  it('enforces the descriptor count, the LBA count and the capacity', () => {
    const many = unmapList([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]);
    expect(parseUnmapParameterList(many, many.length, limits)).toEqual({ ok: false, asc: Asc.InvalidFieldInParameterList, byte: 2 });
    const big = unmapList([[0, 60], [100, 41]]);
    expect(parseUnmapParameterList(big, big.length, limits)).toEqual({ ok: false, asc: Asc.InvalidFieldInParameterList, byte: 32 });
    const past = unmapList([[995, 6]]);
    expect(parseUnmapParameterList(past, past.length, limits)).toEqual({ ok: false, asc: Asc.LbaOutOfRange });
    const end = unmapList([[1000, 0]]);
    expect(parseUnmapParameterList(end, end.length, limits)).toEqual({ ok: true, extents: [] });
    const huge = unmapList([[2 ** 53, 1]]);
    expect(parseUnmapParameterList(huge, huge.length, limits)).toEqual({ ok: false, asc: Asc.LbaOutOfRange });
  });
});

describe('UNMAP command', () => {
  it('deallocates every descriptor on a thin LU; the blocks read back as zeros', async () => {
    const f = await thinFixture(512, 256);
    await f.run(cdb10(WRITE10, 0, 64), { dataOut: Buffer.alloc(64 * 512, 0xff) });
    const list = unmapList([[0, 8], [32, 16]]);
    const r = await f.run(unmapCdb(list.length), { dataOut: list });
    expect(r.status).toBe(0);
    expect(f.store.discards).toEqual([{ position: 0, length: 8 * 512 }, { position: 32 * 512, length: 16 * 512 }]);
    const back = (await f.run(cdb10(READ10, 0, 64))).data;
    expect(back.subarray(0, 8 * 512).every((b) => b === 0)).toBe(true);
    expect(back.subarray(8 * 512, 32 * 512).every((b) => b === 0xff)).toBe(true);
    expect(back.subarray(32 * 512, 48 * 512).every((b) => b === 0)).toBe(true);
    expect(f.lu.lbaLock.held).toBe(0);
  });

  it('changes nothing when one descriptor is bad', async () => {
    const f = await thinFixture(512, 256);
    const list = unmapList([[0, 8], [250, 7]]);
    const r = await f.run(unmapCdb(list.length), { dataOut: list });
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x21]);
    expect(f.store.discards).toEqual([]);
  });

  it('answers a short list with PARAMETER LIST LENGTH ERROR, ANCHOR with INVALID FIELD IN CDB, 0 length with GOOD', async () => {
    const f = await thinFixture(512, 256);
    expect((await f.run(unmapCdb(4), { dataOut: Buffer.alloc(4) })).asc).toBe(0x1a);
    const list = unmapList([[0, 1]]);
    expect((await f.run(unmapCdb(list.length, true), { dataOut: list })).asc).toBe(0x24);
    expect((await f.run(unmapCdb(0), { read: false, expectedLength: 0 })).status).toBe(0);
  });

  it('does not exist on a thick LU', async () => {
    const f = await fixture(512, 256);
    const list = unmapList([[0, 1]]);
    const r = await f.run(unmapCdb(list.length), { dataOut: list });
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x20]);
  });
});
