/** Region lists as replicas exchange them: what a bitmap marks, unions of what may differ, and marking them for a resync. */
import type { DirtyBitmap } from '../state/dirtyBitmap';

/** Activity-log granularity while a partner receives our writes (see HaDevice.replicateWrite), and repairRecent's extent. */
export const ACTIVITY_EXTENT_BYTES = 4 * 1024 * 1024;
/** A region list longer than this travels as "everything" (a full copy). */
const MAX_LISTED_REGIONS = 1 << 20;

/** The regions a bitmap marks; null when it cannot be trusted or the list would be too long (copy everything). */
export function listRegions(bitmap: DirtyBitmap): number[] | null {
  if (!bitmap.trusted || bitmap.dirtyCount > MAX_LISTED_REGIONS) return null;
  return bitmap.dirtyRegions();
}

export interface RegionUnion {
  full: boolean;
  regions: number[];
}

/** Regions that may differ between two replicas: every list given (null = everything); `full` if `target` is untrusted. */
export function unionRegions(lists: (number[] | null | undefined)[], target: DirtyBitmap): RegionUnion {
  const union: RegionUnion = { full: false, regions: [] };
  mergeRegions(union, lists);
  if (target.trusted === false) union.full = true;
  return union;
}

export function mergeRegions(union: RegionUnion, lists: (number[] | null | undefined)[]): void {
  if (union.full) return;
  const set = new Set(union.regions);
  for (const l of lists) {
    if (l === null) {
      union.full = true;
      union.regions = [];
      return;
    }
    if (l) for (const r of l) set.add(r);
  }
  union.regions = [...set].sort((a, b) => a - b);
}

/** Every region of a bitmap (a full copy). */
export function allRegions(bitmap: DirtyBitmap): number[] {
  return Array.from({ length: bitmap.regionCount }, (_, i) => i);
}

/** Marks regions dirty and sticky (what a resync must copy), durably. */
export async function markRegions(bitmap: DirtyBitmap, regions: number[], deviceBytes: number): Promise<void> {
  const regionBytes = bitmap.regionBytes;
  for (const r of regions) {
    if (bitmap.isDirty(r) && bitmap.isSticky(r)) continue;
    const at = r * regionBytes;
    const length = Math.min(regionBytes, deviceBytes - at);
    if (length <= 0) continue;
    const marking = bitmap.beginWrite(at, length);
    if (marking) await marking;
    bitmap.endWrite(at, length, false);
  }
}
