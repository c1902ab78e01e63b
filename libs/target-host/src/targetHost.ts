/**
 * Brings a node's data plane up from a HostConfig: opens the stores, builds logical units and SCSI targets,
 * starts the iSCSI server; and takes it down again with every store flushed.
 */
import { createHash } from 'crypto';
import { IscsiServer, Logger } from '@tandem/iscsi';
import { AluaAccessState, LogicalUnit, LuRegistry, ScsiTarget } from '@tandem/scsi';
import { BlockStore, FlatStore } from '@tandem/storage';
import { HostConfig, LunConfig, TargetConfig, parseHostConfig } from './hostConfig';

export interface HostedLun {
  target: string;
  lun: number;
  deviceId: string;
  store: BlockStore;
  unit: LogicalUnit;
}

export class TargetHost {
  private constructor(
    readonly config: HostConfig,
    readonly server: IscsiServer,
    readonly luns: HostedLun[],
    private readonly log: Logger,
    /** SCSI target device per target name (lower case). */
    private readonly devices: ReadonlyMap<string, ScsiTarget>,
  ) {}

  /**
   * Sets the ALUA access state of one LU through one target port group (portal group tag), live: initiators
   * see ASYMMETRIC ACCESS STATE CHANGED and REPORT TARGET PORT GROUPS reports the new state. False when the
   * group already was in that state.
   */
  setAluaState(target: string, lun: number, portGroup: number, state: AluaAccessState): boolean {
    const device = this.devices.get(target.toLowerCase());
    if (!device) throw new Error(`no target ${target}`);
    const changed = device.setAccessState(lun, portGroup, state);
    if (changed) this.log.info({ target, lun, portGroup, state }, 'ALUA access state changed');
    return changed;
  }

  /** The SCSI target device of a target (for the HA layer: port groups, access states, reservations). */
  device(target: string): ScsiTarget | undefined {
    return this.devices.get(target.toLowerCase());
  }

  /** Validates the config, opens everything, listens. On any failure, what was opened is closed again. */
  static async start(input: unknown, log: Logger): Promise<TargetHost> {
    const config = parseHostConfig(input);
    const opened: HostedLun[] = [];
    try {
      const server = new IscsiServer({
        portals: config.portals.map((p) => ({ ...p })),
        discoveryChap: config.discoveryChap,
        queueDepth: config.queueDepth,
        nopIntervalMs: config.nopIntervalSeconds * 1000,
        nopTimeoutMs: config.nopTimeoutSeconds * 1000,
        limits: config.maxRecvDataSegmentLength ? { maxRecvDataSegmentLength: config.maxRecvDataSegmentLength } : undefined,
        logger: log,
      });
      const devices = new Map<string, ScsiTarget>();
      // One registry for the node: EXTENDED COPY may copy between any two LUs of it, across targets.
      const registry = new LuRegistry();
      for (const t of config.targets) {
        const device = new ScsiTarget({ registry });
        devices.set(t.name.toLowerCase(), device);
        for (const l of t.luns) {
          const hosted = await openLun(t, l);
          opened.push(hosted);
          device.addLun(l.lun, hosted.unit);
        }
        server.addTarget({ name: t.name, alias: t.alias, device, chap: t.chap, portalGroupTags: t.portalGroupTags });
      }
      await server.start();
      return new TargetHost(config, server, opened, log, devices);
    } catch (err) {
      await Promise.allSettled(opened.map((h) => h.store.close()));
      throw err;
    }
  }

  /** Stops accepting, asks initiators to log out, flushes and closes every store. */
  async stop(graceMs = 1000): Promise<void> {
    await this.server.stop(graceMs);
    const results = await Promise.allSettled(this.luns.map((h) => h.store.close()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log.error({ store: this.luns[i].store.location, err: String(r.reason) }, 'store did not close cleanly');
    });
  }
}

async function openLun(t: TargetConfig, l: LunConfig): Promise<HostedLun> {
  const store = await FlatStore.open({
    path: l.store.path,
    sizeBytes: l.store.sizeBytes,
    blockSize: l.blockSize,
    create: l.store.create,
    thin: l.store.thin,
  });
  const deviceId = l.deviceId ?? derivedDeviceId(t.name, l.lun);
  const unit = new LogicalUnit({
    store,
    identity: { deviceId, name: l.name ?? `${t.name.split(':').pop()}-lun${l.lun}` },
    // APTPL state lives beside the image, so it follows the device if the image moves.
    prStatePath: `${l.store.path}.pr.json`,
    physicalBlockSize: l.physicalBlockSize,
    aluaStates: l.alua,
  });
  return { target: t.name, lun: l.lun, deviceId, store, unit };
}

/** Stable identity for a LUN configured without one: the same target name and LUN give the same designators. */
export function derivedDeviceId(targetName: string, lun: number): string {
  return createHash('sha256').update(`${targetName.toLowerCase()}/lun/${lun}`).digest('hex').slice(0, 32);
}
