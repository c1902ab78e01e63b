/**
 * Dirty bitmap file I/O: opening (load, or replace an untrusted file by an all-dirty one), reading a whole bitmap
 * file, creating a fresh one, writing fresh pages, full reads and writes.
 *
 * On open: a page with no valid slot, a damaged header copy, a different regionBytes or a smaller device → the file is not
 * trusted: it is copied to `<file>.corrupt`, replaced by an all-dirty one, and `trusted` is false. A page with one
 * valid slot and one damaged (non-zero, invalid) slot is taken as a torn write: the valid version is used but the
 * whole page is marked dirty, since the damaged slot might have been a newer version (`damagedPages` lists them).
 */
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import type { FileHandle } from 'fs/promises';
import * as path from 'path';
import {
  decodeHeader,
  decodePagePair,
  DIRTY_BITMAP_REGIONS_PER_PAGE,
  fileBytes,
  type Geometry,
  geometryOf,
  PAGE_BODY_BYTES,
  PAIR_BYTES,
  SLOT_BYTES,
  slotOffset,
  writeHeaderSlot,
  setRegionRange,
  writePageSlot,
} from './dirtyBitmapFormat';

/** Pages read or created per I/O on open. */
const PAGES_PER_CHUNK = 128;

export type LoadedFile =
  | { ok: false; reason: string }
  | {
      ok: true;
      fileId: number;
      deviceBytes: number;
      bits: Uint8Array;
      pageSeq: Float64Array;
      pageSlot: Uint8Array;
      headerSeq: number;
      headerSlot: number;
      damagedPages: number[];
    };

/** An open bitmap file: its handle, id, and the newest durable version (sequence, slot) of the header and each page. */
export interface OpenBitmapFile {
  fh: FileHandle;
  fileId: number;
  pageSeq: Float64Array;
  pageSlot: Uint8Array;
  headerSeq: number;
  headerSlot: number;
}

export interface OpenedBitmap {
  opened: OpenBitmapFile;
  /** The stored geometry (smaller than the wanted one when the device grew since). */
  geometry: Geometry;
  bits: Uint8Array;
  /** Pages with a torn newer version: the owner marks each wholly dirty. */
  damagedPages: number[];
  status: { trusted: boolean; untrustedReason: string | null; created: boolean; damagedPages: number };
}

/** Opens the bitmap file, creating it (all clean) when absent, replacing it (all dirty) when it cannot be trusted. */
export async function openBitmapFile(file: string, wanted: Geometry): Promise<OpenedBitmap> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return createReplacement(file, wanted, null);
  }
  let loaded: LoadedFile;
  try {
    loaded = await readBitmapFile(fh, wanted);
  } catch (err) {
    await fh.close();
    throw err;
  }
  if (!loaded.ok) {
    await fh.close();
    // Kept for inspection; the replacement is renamed over the original, so a crash never leaves no file at all.
    await fsp.copyFile(file, `${file}.corrupt`);
    return createReplacement(file, wanted, loaded.reason);
  }
  return {
    opened: { ...loaded, fh },
    geometry: geometryOf(wanted.regionBytes, loaded.deviceBytes),
    bits: loaded.bits,
    damagedPages: loaded.damagedPages,
    status: { trusted: true, untrustedReason: null, created: false, damagedPages: loaded.damagedPages.length },
  };
}

/** A new file: all clean, or all dirty when it replaces an untrusted one. */
async function createReplacement(file: string, geometry: Geometry, untrustedReason: string | null): Promise<OpenedBitmap> {
  const bits = new Uint8Array(geometry.pageCount * PAGE_BODY_BYTES);
  if (untrustedReason !== null) setRegionRange(bits, 0, geometry.regionCount);
  const { fh, fileId } = await createBitmapFile(file, geometry, bits);
  const pageSeq = new Float64Array(geometry.pageCount).fill(1);
  const pageSlot = new Uint8Array(geometry.pageCount);
  return {
    opened: { fh, fileId, pageSeq, pageSlot, headerSeq: 1, headerSlot: 0 },
    geometry,
    bits,
    damagedPages: [],
    status: { trusted: untrustedReason === null, untrustedReason, created: untrustedReason === null, damagedPages: 0 },
  };
}

export async function readBitmapFile(fh: FileHandle, wanted: Geometry): Promise<LoadedFile> {
  const head = Buffer.alloc(PAIR_BYTES);
  await readFully(fh, head, PAIR_BYTES, 0);
  const header = decodeHeader(head, wanted);
  if (!header.ok) return header;
  const { fileId, deviceBytes, regionCount, pageCount, headerSeq, headerSlot } = header;

  const bits = new Uint8Array(pageCount * PAGE_BODY_BYTES);
  const pageSeq = new Float64Array(pageCount);
  const pageSlot = new Uint8Array(pageCount);
  const damagedPages: number[] = [];
  const chunk = Buffer.alloc(Math.min(pageCount, PAGES_PER_CHUNK) * PAIR_BYTES);
  for (let first = 0; first < pageCount; first += PAGES_PER_CHUNK) {
    const n = Math.min(PAGES_PER_CHUNK, pageCount - first);
    chunk.fill(0);
    await readFully(fh, chunk, n * PAIR_BYTES, slotOffset(first, 0));
    for (let k = 0; k < n; k++) {
      const page = first + k;
      const decoded = decodePagePair(chunk, k * PAIR_BYTES, page, fileId);
      if (!decoded.ok) return { ok: false, reason: `page ${page} has no valid version` };
      if (decoded.damaged) damagedPages.push(page);
      pageSeq[page] = decoded.seq;
      pageSlot[page] = decoded.slot;
      bits.set(chunk.subarray(decoded.bodyAt, decoded.bodyAt + PAGE_BODY_BYTES), page * PAGE_BODY_BYTES);
    }
  }
  // Bits past the last region are always written as zero; one set there means the page lies.
  for (let r = regionCount; r < pageCount * DIRTY_BITMAP_REGIONS_PER_PAGE; r++) {
    if ((bits[r >>> 3] & (1 << (r & 7))) !== 0) return { ok: false, reason: 'bits set beyond the last region' };
  }
  return { ok: true, fileId, deviceBytes, bits, pageSeq, pageSlot, headerSeq, headerSlot, damagedPages };
}

/**
 * Writes a new file (header version 1 in slot 0, every page version 1 from `bits`) beside the target, syncs it and
 * renames it over the target; returns the opened file and its new file id.
 */
export async function createBitmapFile(file: string, geometry: Geometry, bits: Uint8Array): Promise<{ fh: FileHandle; fileId: number }> {
  const fileId = randomBytes(4).readUInt32BE(0);
  const tmp = `${file}.tmp`;
  const out = await fsp.open(tmp, 'w');
  try {
    const header = Buffer.alloc(SLOT_BYTES);
    writeHeaderSlot(header, 0, fileId, 1, geometry);
    await writeFully(out, header, 0, SLOT_BYTES, 0);
    await writeFreshPages(out, fileId, bits, 0, geometry.pageCount);
    await out.truncate(fileBytes(geometry.pageCount));
    await out.sync();
  } finally {
    await out.close();
  }
  await fsp.rename(tmp, file);
  await syncDirectory(path.dirname(file));
  const fh = await fsp.open(file, 'r+');
  return { fh, fileId };
}

/** Writes pages [firstPage, firstPage+count) as version 1 in slot 0 (slot 1 left zero), bodies from `bits`. */
export async function writeFreshPages(fh: FileHandle, fileId: number, bits: Uint8Array, firstPage: number, count: number): Promise<void> {
  const chunk = Buffer.alloc(Math.min(count, PAGES_PER_CHUNK) * PAIR_BYTES);
  for (let done = 0; done < count; done += PAGES_PER_CHUNK) {
    const n = Math.min(PAGES_PER_CHUNK, count - done);
    chunk.fill(0);
    for (let k = 0; k < n; k++) {
      const start = (done + k) * PAGE_BODY_BYTES;
      writePageSlot(chunk, k * PAIR_BYTES, fileId, firstPage + done + k, 1, bits.subarray(start, start + PAGE_BODY_BYTES));
    }
    await writeFully(fh, chunk, 0, n * PAIR_BYTES, slotOffset(firstPage + done, 0));
  }
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) return; // past the end: the rest stays zero
    done += bytesRead;
  }
}

export async function writeFully(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, offset + done, length - done, position + done);
    done += bytesWritten;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
