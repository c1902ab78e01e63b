/**
 * The dirty bitmap file format, pure: geometry, slot layout, header and page slot encode/decode with CRC32C, and the
 * region bit helpers. No I/O here (dirtyBitmapFile.ts reads and writes files).
 *
 * File layout: 4 KiB slots in pairs. Pair 0 holds the file header, pair 1+p holds bitmap page p (32,512 regions).
 * A page is never overwritten in place: a new version goes to the pair's other slot with sequence+1, and on open
 * the valid slot with the higher sequence wins (double buffering). A torn write (power loss mid-persist) therefore
 * damages only the version being written, which nobody was told was durable; the previous version stays readable.
 *
 *   slot: 0 magic u32 ('TDBH' header / 'TDBP' page) · 4 page index u32 · 8 sequence u64 · 16 file id u32 ·
 *         20 reserved (8 bytes) · 28 body (4064 bytes) · 4092 CRC32C of bytes [0,4092)
 *   header body: version, regionBytes, regionCount, deviceBytes (u64), pageCount, regionsPerPage
 *   page body: one bit per region, region r = bit (r & 7) of byte (r >> 3) of the page, LSB first
 */
import { crc32c } from '@tandem/storage';

export const SLOT_BYTES = 4096;
export const PAIR_BYTES = 2 * SLOT_BYTES;
export const SLOT_BODY_OFFSET = 28;
const SLOT_CRC_OFFSET = SLOT_BYTES - 4;
export const PAGE_BODY_BYTES = SLOT_CRC_OFFSET - SLOT_BODY_OFFSET; // 4064
/** Regions per bitmap page. */
export const DIRTY_BITMAP_REGIONS_PER_PAGE = PAGE_BODY_BYTES * 8; // 32,512
export const HEADER_MAGIC = 0x54444248; // 'TDBH'
export const PAGE_MAGIC = 0x54444250; // 'TDBP'
const FILE_VERSION = 1;
const TWO_POW_32 = 0x1_0000_0000;
/** Region indices live in Uint32Arrays where 0xFFFFFFFF means "no region". */
const MAX_REGIONS = 0xffff_fffe;

export interface Geometry {
  regionBytes: number;
  deviceBytes: number;
  regionCount: number;
  pageCount: number;
}

export function geometryOf(regionBytes: number, deviceBytes: number): Geometry {
  if (!(Number.isInteger(regionBytes) && regionBytes >= 4096 && regionBytes <= 2 ** 30 && (regionBytes & (regionBytes - 1)) === 0)) {
    throw new RangeError(`regionBytes ${regionBytes} must be a power of two from 4096 to 2^30`);
  }
  if (!(Number.isSafeInteger(deviceBytes) && deviceBytes > 0)) throw new RangeError(`deviceBytes ${deviceBytes} must be a positive safe integer`);
  const regionCount = Math.ceil(deviceBytes / regionBytes);
  if (regionCount > MAX_REGIONS) throw new RangeError(`${regionCount} regions is too many; use larger regions`);
  return { regionBytes, deviceBytes, regionCount, pageCount: Math.ceil(regionCount / DIRTY_BITMAP_REGIONS_PER_PAGE) };
}

export function fileBytes(pageCount: number): number {
  return (1 + pageCount) * PAIR_BYTES;
}

export function slotOffset(page: number, slot: number): number {
  return (1 + page) * PAIR_BYTES + slot * SLOT_BYTES;
}

function writeSlotFrame(buf: Buffer, at: number, magic: number, index: number, fileId: number, seq: number): void {
  buf.writeUInt32BE(magic, at);
  buf.writeUInt32BE(index, at + 4);
  buf.writeUInt32BE(Math.floor(seq / TWO_POW_32), at + 8);
  buf.writeUInt32BE(seq >>> 0, at + 12);
  buf.writeUInt32BE(fileId, at + 16);
  buf.writeUInt32BE(0, at + 20);
  buf.writeUInt32BE(0, at + 24);
}

function sealSlot(buf: Buffer, at: number): void {
  buf.writeUInt32BE(crc32c(buf.subarray(at, at + SLOT_CRC_OFFSET)), at + SLOT_CRC_OFFSET);
}

export function writeHeaderSlot(buf: Buffer, at: number, fileId: number, seq: number, g: Geometry): void {
  buf.fill(0, at, at + SLOT_BYTES);
  writeSlotFrame(buf, at, HEADER_MAGIC, 0, fileId, seq);
  const b = at + SLOT_BODY_OFFSET;
  buf.writeUInt32BE(FILE_VERSION, b);
  buf.writeUInt32BE(g.regionBytes, b + 4);
  buf.writeUInt32BE(g.regionCount, b + 8);
  buf.writeUInt32BE(Math.floor(g.deviceBytes / TWO_POW_32), b + 12);
  buf.writeUInt32BE(g.deviceBytes >>> 0, b + 16);
  buf.writeUInt32BE(g.pageCount, b + 20);
  buf.writeUInt32BE(DIRTY_BITMAP_REGIONS_PER_PAGE, b + 24);
  sealSlot(buf, at);
}

export function writePageSlot(buf: Buffer, at: number, fileId: number, page: number, seq: number, body: Uint8Array): void {
  writeSlotFrame(buf, at, PAGE_MAGIC, page, fileId, seq);
  buf.set(body, at + SLOT_BODY_OFFSET);
  sealSlot(buf, at);
}

/** >0: a valid slot's sequence; 0: an all-zero slot (never written); -1: damaged. */
export function examineSlot(buf: Buffer, at: number, magic: number, index: number, fileId: number | null): number {
  const valid =
    buf.readUInt32BE(at) === magic &&
    buf.readUInt32BE(at + 4) === index &&
    (fileId === null || buf.readUInt32BE(at + 16) === fileId) &&
    crc32c(buf.subarray(at, at + SLOT_CRC_OFFSET)) === buf.readUInt32BE(at + SLOT_CRC_OFFSET);
  if (valid) {
    const seq = buf.readUInt32BE(at + 8) * TWO_POW_32 + buf.readUInt32BE(at + 12);
    if (seq > 0) return seq;
  }
  for (let i = at; i < at + SLOT_BYTES; i++) if (buf[i] !== 0) return -1;
  return 0;
}

export type DecodedHeader =
  | { ok: false; reason: string }
  | { ok: true; fileId: number; deviceBytes: number; regionCount: number; pageCount: number; headerSeq: number; headerSlot: number };

/** Decodes header pair 0 (both slots, PAIR_BYTES long) against the geometry the owner wants. */
export function decodeHeader(head: Buffer, wanted: Geometry): DecodedHeader {
  const seqA = examineSlot(head, 0, HEADER_MAGIC, 0, null);
  const seqB = examineSlot(head, SLOT_BYTES, HEADER_MAGIC, 0, null);
  if (seqA <= 0 && seqB <= 0) return { ok: false, reason: 'no valid header' };
  // The header changes only on grow; a damaged copy could be a newer geometry whose new regions held marks.
  if (seqA < 0 || seqB < 0) return { ok: false, reason: 'a damaged header copy' };
  const headerSlot = seqB > seqA ? 1 : 0;
  const headerSeq = Math.max(seqA, seqB);
  const h = headerSlot * SLOT_BYTES;
  const b = h + SLOT_BODY_OFFSET;
  const fileId = head.readUInt32BE(h + 16);
  const version = head.readUInt32BE(b);
  if (version !== FILE_VERSION) return { ok: false, reason: `unsupported version ${version}` };
  const regionBytes = head.readUInt32BE(b + 4);
  if (regionBytes !== wanted.regionBytes) return { ok: false, reason: `regionBytes ${regionBytes} differs from ${wanted.regionBytes}` };
  const regionCount = head.readUInt32BE(b + 8);
  const deviceBytes = head.readUInt32BE(b + 12) * TWO_POW_32 + head.readUInt32BE(b + 16);
  const pageCount = head.readUInt32BE(b + 20);
  if (head.readUInt32BE(b + 24) !== DIRTY_BITMAP_REGIONS_PER_PAGE) return { ok: false, reason: 'different page geometry' };
  let stored: Geometry;
  try {
    stored = geometryOf(regionBytes, deviceBytes);
  } catch {
    return { ok: false, reason: `bad device size ${deviceBytes}` };
  }
  if (stored.regionCount !== regionCount || stored.pageCount !== pageCount) return { ok: false, reason: 'inconsistent header' };
  if (deviceBytes > wanted.deviceBytes) return { ok: false, reason: `the device shrank from ${deviceBytes} to ${wanted.deviceBytes} bytes` };
  return { ok: true, fileId, deviceBytes, regionCount, pageCount, headerSeq, headerSlot };
}

export type DecodedPage = { ok: false } | { ok: true; seq: number; slot: number; damaged: boolean; bodyAt: number };

/** Decodes page `page`'s pair at `at` in `buf`: the newest valid version, and whether the other slot is damaged. */
export function decodePagePair(buf: Buffer, at: number, page: number, fileId: number): DecodedPage {
  const a = examineSlot(buf, at, PAGE_MAGIC, page, fileId);
  const c = examineSlot(buf, at + SLOT_BYTES, PAGE_MAGIC, page, fileId);
  if (a <= 0 && c <= 0) return { ok: false };
  const slot = c > a ? 1 : 0;
  return { ok: true, seq: Math.max(a, c), slot, damaged: a < 0 || c < 0, bodyAt: at + slot * SLOT_BYTES + SLOT_BODY_OFFSET };
}

/** Sets the bits of regions [from, to). */
export function setRegionRange(bits: Uint8Array, from: number, to: number): void {
  let r = from;
  for (; r < to && (r & 7) !== 0; r++) bits[r >>> 3] |= 1 << (r & 7);
  const fullEnd = to - ((to - r) & 7);
  if (fullEnd > r) {
    bits.fill(0xff, r >>> 3, fullEnd >>> 3);
    r = fullEnd;
  }
  for (; r < to; r++) bits[r >>> 3] |= 1 << (r & 7);
}

export function countBits(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) {
    let v = bits[i];
    while (v !== 0) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

export function extend<T extends Uint8Array>(array: T, length: number): T {
  if (array.length >= length) return array;
  const bigger = new Uint8Array(length);
  bigger.set(array);
  return bigger as T;
}
