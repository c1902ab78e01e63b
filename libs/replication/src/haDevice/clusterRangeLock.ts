/**
 * The LU's range lock for a HA device: taken at the authority replica (see HaDevice.lockAuthority). Remote grants
 * are numbered from REMOTE_SLOT_BASE so that a slot says where to give it back. If the authority goes away while we
 * wait, the device decides first, then the request goes again to whoever is the authority now.
 */
import type { RangeLock } from '@tandem/scsi';
import { PartnerUnreachable, type PartnerChannel } from '../channel/partnerChannel';
import { FrameType } from '../protocol/frame';
import type { HaDevice } from './haDevice';

/** Remote lock slots are numbered from here (local slots are small). */
const REMOTE_SLOT_BASE = 1 << 30;

export class ClusterRangeLock implements RangeLock {
  private readonly remote = new Map<number, { channel: PartnerChannel; slot: number }>();
  private nextRemote = REMOTE_SLOT_BASE;

  constructor(private readonly device: HaDevice) {}

  tryAcquire(first: number, blocks: number): number {
    return this.device.lockAuthority() === 'local' ? this.device.localLock.tryAcquire(first, blocks) : -1;
  }

  async acquire(first: number, blocks: number): Promise<number> {
    for (;;) {
      const authority = this.device.lockAuthority();
      if (authority === 'local') return this.device.localLock.acquire(first, blocks);
      try {
        const reply = await authority.request(FrameType.Lock, 0, first, Math.max(1, blocks));
        const id = this.nextRemote++;
        if (this.nextRemote > 0x7fffffff) this.nextRemote = REMOTE_SLOT_BASE;
        this.remote.set(id, { channel: authority, slot: reply.aux });
        return id;
      } catch (error) {
        if (!(error instanceof PartnerUnreachable)) throw error;
        const p = this.device.partnerById(authority.partnerNodeId);
        if (p) await this.device.lost(p, error.message);
      }
    }
  }

  release(slot: number): void {
    if (slot < REMOTE_SLOT_BASE) return this.device.localLock.release(slot);
    const grant = this.remote.get(slot);
    if (!grant) return;
    this.remote.delete(slot);
    if (grant.channel.connected) grant.channel.notify(FrameType.Unlock, 0, 0, grant.slot);
  }
}
