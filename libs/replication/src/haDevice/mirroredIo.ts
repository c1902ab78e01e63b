/**
 * The mirrored data path of a HA device: each write, deallocation, reservation change and flush is applied locally
 * and on every partner that receives writes before it completes; a partner that fails it is decided on first
 * (HaDevice.lost), so a write never completes on a replica that is about to step aside.
 */
import { StoreError, type BlockStore } from '@tandem/storage';
import { PartnerRefused } from '../channel/partnerChannel';
import { FrameFlag, FrameType } from '../protocol/frame';
import type { LocalRole } from './haEvents';
import type { Partner } from './partner';
import { ACTIVITY_EXTENT_BYTES } from './regions';
import { unavailable } from './replicatedStore';

/** The I_T nexus a reservation change came through. */
export interface PrNexus {
  initiatorPortName: string;
  targetPortName: string;
  relativeTargetPortId: number;
}

/** What the data path needs of the device. */
export interface MirrorGroup {
  readonly local: BlockStore;
  readonly partners: readonly Partner[];
  readonly role: LocalRole;
  readonly blockReason: string;
  /** Before any I/O: resolves once no membership decision is pending (null: none). */
  ready(): Promise<void> | null;
  lost(p: Partner, reason: string, brokenDisk?: boolean): Promise<void>;
}

/** A write, applied locally and on every partner that receives writes before it completes. */
export async function mirrorWrite(g: MirrorGroup, buf: Buffer, offset: number, length: number, position: number, fua: boolean): Promise<void> {
  const waiting = g.ready();
  if (waiting) await waiting;
  if (g.role !== 'serving') throw unavailable(g.blockReason);
  const partners = g.partners;
  const n = partners.length;
  // While a partner receives our writes the marks are only an activity log (which regions may differ after a
  // crash), so whole 4 MiB extents are marked: a sequential stream pays one durable bitmap write per extent, not
  // per write. For a partner that does not receive them, marks are exact: they are what a fast resync will copy.
  const r0 = partners[0].receives;
  const r1 = n > 1 && partners[1].receives;
  const markStart = position - (position % ACTIVITY_EXTENT_BYTES);
  const markEnd = Math.min(g.local.sizeBytes, Math.ceil((position + length) / ACTIVITY_EXTENT_BYTES) * ACTIVITY_EXTENT_BYTES);
  const m0 = partners[0].bitmap.beginWrite(r0 ? markStart : position, r0 ? markEnd - markStart : length);
  const m1 = n > 1 ? partners[1].bitmap.beginWrite(r1 ? markStart : position, r1 ? markEnd - markStart : length) : null;
  if (m0) await m0;
  if (m1) await m1;
  const flags = (fua ? FrameFlag.Fua : 0) | (r0 && r1 ? FrameFlag.AlsoThird : 0);
  let has0 = false;
  let has1 = false;
  let failed = false;
  try {
    if (r0 || r1) {
      const q0 = r0 ? partners[0].channel.request(FrameType.Write, flags, position, 0, buf, offset, length) : null;
      const q1 = r1 ? partners[1].channel.request(FrameType.Write, flags, position, 0, buf, offset, length) : null;
      const localWrite = g.local.write(buf, offset, length, position, fua);
      const [l, a, b] = await Promise.allSettled([localWrite, q0, q1]);
      if (l.status === 'rejected') throw l.reason;
      if (q0) {
        if (a.status === 'fulfilled') has0 = true;
        else {
          failed = true;
          await partnerFailed(g, partners[0], a.reason);
        }
      }
      if (q1) {
        if (b.status === 'fulfilled') has1 = true;
        else {
          failed = true;
          await partnerFailed(g, partners[1], b.reason);
        }
      }
    } else {
      await g.local.write(buf, offset, length, position, fua);
    }
  } finally {
    partners[0].bitmap.endWrite(r0 ? markStart : position, r0 ? markEnd - markStart : length, has0);
    if (n > 1) partners[1].bitmap.endWrite(r1 ? markStart : position, r1 ? markEnd - markStart : length, has1);
  }
  if (failed && g.role !== 'serving') throw unavailable(g.blockReason);
}

/** An UNMAP / WRITE SAME with UNMAP: deallocated locally and on every partner that receives writes. */
export async function mirrorDiscard(g: MirrorGroup, position: number, length: number): Promise<void> {
  const waiting = g.ready();
  if (waiting) await waiting;
  if (g.role !== 'serving') throw unavailable(g.blockReason);
  const discard = g.local.discard?.bind(g.local);
  if (!discard) throw new StoreError('the store cannot deallocate', 'IO');
  const receivers = g.partners.filter((p) => p.receives);
  for (const p of g.partners) {
    const marking = p.bitmap.beginWrite(position, length);
    if (marking) await marking;
  }
  const has = new Set<Partner>();
  let failed = false;
  try {
    const lengthField = Buffer.alloc(6);
    lengthField.writeUIntBE(length, 0, 6);
    const flags = receivers.length === 2 ? FrameFlag.AlsoThird : 0;
    const remotes = receivers.map((p) => p.channel.request(FrameType.Discard, flags, position, length <= 0xffffffff ? length : 0, lengthField));
    const [l, ...rs] = await Promise.allSettled([discard(position, length), ...remotes]);
    if (l.status === 'rejected') throw l.reason;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (r.status === 'fulfilled') has.add(receivers[i]);
      else {
        failed = true;
        await partnerFailed(g, receivers[i], r.reason);
      }
    }
  } finally {
    for (const p of g.partners) p.bitmap.endWrite(position, length, has.has(p));
  }
  if (failed && g.role !== 'serving') throw unavailable(g.blockReason);
}

/** A PERSISTENT RESERVE OUT that changed the state here, applied on every partner receiving writes before GOOD. */
export async function mirrorPr(g: MirrorGroup, op: unknown, nexus: PrNexus): Promise<void> {
  const waiting = g.ready();
  if (waiting) await waiting;
  if (g.role !== 'serving') throw unavailable(g.blockReason);
  const receivers = g.partners.filter((p) => p.receives);
  if (receivers.length === 0) return;
  const body = Buffer.from(JSON.stringify({ op, nexus }));
  const results = await Promise.allSettled(receivers.map((p) => p.channel.request(FrameType.PrApply, 0, 0, 0, body)));
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r.status === 'rejected') await partnerFailed(g, receivers[i], r.reason);
  }
  if (g.role !== 'serving') throw unavailable(g.blockReason);
}

/** SYNCHRONIZE CACHE: the local store and every partner that receives writes. */
export async function mirrorFlush(g: MirrorGroup): Promise<void> {
  const waiting = g.ready();
  if (waiting) await waiting;
  if (g.role !== 'serving') throw unavailable(g.blockReason);
  const receivers = g.partners.filter((p) => p.receives);
  const [l, ...rs] = await Promise.allSettled([g.local.flush(), ...receivers.map((p) => p.channel.request(FrameType.Flush, 0, 0, 0))]);
  if (l.status === 'rejected') throw l.reason;
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i];
    if (r.status === 'rejected') await partnerFailed(g, receivers[i], r.reason);
  }
  if (g.role !== 'serving') throw unavailable(g.blockReason);
}

/** A partner did not apply a write: decide what that means before the write completes. */
async function partnerFailed(g: MirrorGroup, p: Partner, reason: unknown): Promise<void> {
  if (reason instanceof PartnerRefused) {
    // The partner is there but could not apply it (its disk failed, or it no longer counts us in its group).
    if (p.state === 'synchronized' || p.state === 'resync-to-partner') await g.lost(p, reason.message, true);
    return;
  }
  await g.lost(p, reason instanceof Error ? reason.message : String(reason));
}
