// Unit spec of the pure dirty bitmap file format: header and page slot encode/decode, CRC refusal of torn slots.
import {
  decodeHeader,
  decodePagePair,
  DIRTY_BITMAP_REGIONS_PER_PAGE,
  examineSlot,
  geometryOf,
  PAGE_BODY_BYTES,
  PAGE_MAGIC,
  PAIR_BYTES,
  SLOT_BODY_OFFSET,
  SLOT_BYTES,
  writeHeaderSlot,
  writePageSlot,
} from './dirtyBitmapFormat';

const FILE_ID = 0x1234abcd;

function body(seed: number): Uint8Array {
  const b = new Uint8Array(PAGE_BODY_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('dirty bitmap file format', () => {
  const geometry = geometryOf(64 * 1024, 5 * 2 ** 40 + 12345); // deviceBytes above 2^32: both u64 halves matter

  it('round-trips a header, the newer valid slot winning', () => {
    const head = Buffer.alloc(PAIR_BYTES);
    writeHeaderSlot(head, 0, FILE_ID, 7, geometry);
    const grown = geometryOf(64 * 1024, geometry.deviceBytes + DIRTY_BITMAP_REGIONS_PER_PAGE * 64 * 1024);
    writeHeaderSlot(head, SLOT_BYTES, FILE_ID, 8, grown);
    expect(decodeHeader(head, grown)).toEqual({
      ok: true,
      fileId: FILE_ID,
      deviceBytes: grown.deviceBytes,
      regionCount: grown.regionCount,
      pageCount: grown.pageCount,
      headerSeq: 8,
      headerSlot: 1,
    });
  });

  it('refuses a header whose copy is torn, or whose geometry differs from the wanted one', () => {
    const head = Buffer.alloc(PAIR_BYTES);
    writeHeaderSlot(head, 0, FILE_ID, 1, geometry);
    expect(decodeHeader(head, geometry).ok).toBe(true); // slot 1 all zero: never written
    expect(decodeHeader(head, geometryOf(128 * 1024, geometry.deviceBytes))).toEqual({ ok: false, reason: `regionBytes 65536 differs from 131072` });
    expect(decodeHeader(head, geometryOf(64 * 1024, geometry.deviceBytes - 1))).toMatchObject({ ok: false, reason: expect.stringContaining('shrank') });
    head[SLOT_BYTES + 100] = 1; // a torn write of the other copy
    expect(decodeHeader(head, geometry)).toEqual({ ok: false, reason: 'a damaged header copy' });
  });

  it('round-trips a page slot body and sequence', () => {
    const buf = Buffer.alloc(PAIR_BYTES);
    writePageSlot(buf, 0, FILE_ID, 3, 41, body(1));
    writePageSlot(buf, SLOT_BYTES, FILE_ID, 3, 2 ** 33 + 5, body(2)); // sequence above 2^32
    const decoded = decodePagePair(buf, 0, 3, FILE_ID);
    expect(decoded).toEqual({ ok: true, seq: 2 ** 33 + 5, slot: 1, damaged: false, bodyAt: SLOT_BYTES + SLOT_BODY_OFFSET });
    expect(Uint8Array.from(buf.subarray(SLOT_BYTES + SLOT_BODY_OFFSET, SLOT_BYTES + SLOT_BODY_OFFSET + PAGE_BODY_BYTES))).toEqual(body(2));
    // The wrong page index or file id is not this page's version.
    expect(examineSlot(buf, 0, PAGE_MAGIC, 4, FILE_ID)).toBe(-1);
    expect(examineSlot(buf, 0, PAGE_MAGIC, 3, FILE_ID + 1)).toBe(-1);
  });

  it('refuses a torn or corrupt slot by its CRC and falls back to the older version', () => {
    const buf = Buffer.alloc(PAIR_BYTES);
    writePageSlot(buf, 0, FILE_ID, 0, 10, body(3));
    writePageSlot(buf, SLOT_BYTES, FILE_ID, 0, 11, body(4));
    buf[SLOT_BYTES + SLOT_BODY_OFFSET + 2000] ^= 0x10; // one flipped bit in the newer body
    expect(examineSlot(buf, SLOT_BYTES, PAGE_MAGIC, 0, FILE_ID)).toBe(-1);
    expect(decodePagePair(buf, 0, 0, FILE_ID)).toEqual({ ok: true, seq: 10, slot: 0, damaged: true, bodyAt: SLOT_BODY_OFFSET });
    buf.fill(0, 1000, SLOT_BYTES); // the older one torn too (its tail never written)
    expect(decodePagePair(buf, 0, 0, FILE_ID)).toEqual({ ok: false });
  });

  it('tells a never-written (all-zero) slot from a damaged one', () => {
    const buf = Buffer.alloc(SLOT_BYTES);
    expect(examineSlot(buf, 0, PAGE_MAGIC, 0, FILE_ID)).toBe(0);
    buf[SLOT_BYTES - 1] = 1;
    expect(examineSlot(buf, 0, PAGE_MAGIC, 0, FILE_ID)).toBe(-1);
  });

  it('refuses bad geometry with a clear error', () => {
    expect(() => geometryOf(5000, 1)).toThrow(/power of two/);
    expect(() => geometryOf(4096, 0)).toThrow(/positive safe integer/);
  });
});
