/**
 * The block-device face of a LU, whatever carries its commands: `execute` is the one primitive (a single session or
 * a multipath set implements it); read, write, flush, INQUIRY, READ CAPACITY (16) and REPORT TARGET PORT GROUPS
 * are built on it and throw ScsiCommandError for anything but GOOD.
 */
import {
  inquiry, operationName, read16, readCapacity16, reportTargetPortGroups, synchronizeCache16, testUnitReady, write16,
} from './cdb';
import type { CommandOptions, ScsiResult } from './initiatorSession';
import { InitiatorSession, SessionOptions } from './initiatorSession';
import { IscsiUrl, describeIscsiUrl, parseIscsiUrl } from './iscsiUrl';
import {
  Capacity, DeviceIdentification, StandardInquiry, TargetPortGroupDescriptor,
  parseDeviceIdentification, parseReadCapacity16, parseStandardInquiry, parseTargetPortGroups,
} from './scsiData';
import { ScsiCommandError, ScsiStatus, SenseKey } from './sense';

export type ExecuteOptions = CommandOptions;

export interface WriteOptions {
  /** Force unit access: GOOD only once the blocks are on stable storage. */
  fua?: boolean;
}

/** Largest transfer one READ/WRITE carries; longer ones are split. */
const MAX_TRANSFER_BYTES = 8 * 1024 * 1024;

export abstract class ScsiDevice {
  /** Set by readCapacity16 (which open does). */
  capacity: Capacity | null = null;

  abstract execute(cdb: Buffer, options?: ExecuteOptions): Promise<ScsiResult>;

  get blockSize(): number {
    return this.capacity?.blockSize ?? 0;
  }

  get blockCount(): number {
    return this.capacity?.blockCount ?? 0;
  }

  /** Reads `blocks` blocks at `lba` (into `into` when given, else a new buffer). */
  async read(lba: number, blocks: number, into?: Buffer): Promise<Buffer> {
    const blockSize = this.capacity ? this.capacity.blockSize : (await this.readCapacity16()).blockSize;
    const bytes = blocks * blockSize;
    if (bytes <= MAX_TRANSFER_BYTES) {
      const r = await this.execute(read16(lba, blocks), { readLength: bytes, readInto: into });
      if (r.status !== ScsiStatus.Good) throw new ScsiCommandError('READ(16)', r.status, r.sense);
      if (r.data.length !== bytes) throw new ScsiCommandError(`READ(16) returned ${r.data.length} of ${bytes} bytes`, r.status, null);
      return r.data;
    }
    const out = into ?? Buffer.allocUnsafe(bytes);
    const per = Math.floor(MAX_TRANSFER_BYTES / blockSize);
    for (let done = 0; done < blocks; done += per) {
      const n = Math.min(per, blocks - done);
      await this.read(lba + done, n, out.subarray(done * blockSize, (done + n) * blockSize));
    }
    return out.length === bytes ? out : out.subarray(0, bytes);
  }

  /** Writes `data` (a whole number of blocks) at `lba`. */
  async write(lba: number, data: Buffer, options: WriteOptions = {}): Promise<void> {
    const blockSize = this.capacity ? this.capacity.blockSize : (await this.readCapacity16()).blockSize;
    if (data.length % blockSize !== 0) throw new RangeError(`write of ${data.length} bytes is not a multiple of the ${blockSize}-byte block`);
    const blocks = data.length / blockSize;
    if (data.length <= MAX_TRANSFER_BYTES) {
      const r = await this.execute(write16(lba, blocks, options.fua), { dataOut: data });
      if (r.status !== ScsiStatus.Good) throw new ScsiCommandError('WRITE(16)', r.status, r.sense);
      return;
    }
    const per = Math.floor(MAX_TRANSFER_BYTES / blockSize);
    for (let done = 0; done < blocks; done += per) {
      const n = Math.min(per, blocks - done);
      await this.write(lba + done, data.subarray(done * blockSize, (done + n) * blockSize), options);
    }
  }

  async synchronizeCache(): Promise<void> {
    await this.good(synchronizeCache16());
  }

  async testUnitReady(): Promise<void> {
    await this.good(testUnitReady());
  }

  async inquiry(): Promise<StandardInquiry> {
    return parseStandardInquiry((await this.good(inquiry(false, 0, 255), 255)).data);
  }

  /** A VPD page as returned (header included). */
  async vpdPage(page: number): Promise<Buffer> {
    return (await this.good(inquiry(true, page, 4096), 4096)).data;
  }

  async deviceIdentification(): Promise<DeviceIdentification> {
    return parseDeviceIdentification(await this.vpdPage(0x83));
  }

  async readCapacity16(): Promise<Capacity> {
    const capacity = parseReadCapacity16((await this.good(readCapacity16(32), 32)).data);
    this.capacity = capacity;
    return capacity;
  }

  async reportTargetPortGroups(): Promise<TargetPortGroupDescriptor[]> {
    return parseTargetPortGroups((await this.good(reportTargetPortGroups(4096), 4096)).data);
  }

  /** Runs a command that must end GOOD. */
  protected async good(cdb: Buffer, readLength = 0): Promise<ScsiResult> {
    const r = await this.execute(cdb, readLength ? { readLength } : {});
    if (r.status !== ScsiStatus.Good) throw new ScsiCommandError(operationName(cdb), r.status, r.sense);
    return r;
  }
}

/** Unit attentions a device retries at once (a UA reports an event, it does not refuse the command for good). */
export const UNIT_ATTENTION_RETRIES = 8;

export function isUnitAttention(r: ScsiResult): boolean {
  return r.status === ScsiStatus.CheckCondition && r.sense !== null && r.sense.key === SenseKey.UnitAttention;
}

export interface IscsiDeviceOptions extends Omit<SessionOptions, 'host' | 'port' | 'targetName'> {
  /** Retry commands that get a UNIT ATTENTION (default true). */
  retryUnitAttentions?: boolean;
}

/** A LU over a single session (no multipath). */
export class IscsiDevice extends ScsiDevice {
  private constructor(readonly session: InitiatorSession, readonly lun: number, readonly url: IscsiUrl, private readonly retryUnitAttentions: boolean) {
    super();
  }

  /** Logs in to the URL's target and reads the capacity of its LUN. */
  static async open(url: string | IscsiUrl, options: IscsiDeviceOptions = {}): Promise<IscsiDevice> {
    const u = typeof url === 'string' ? parseIscsiUrl(url) : url;
    const session = await InitiatorSession.connect(sessionOptionsFor(u, options));
    const device = new IscsiDevice(session, u.lun, u, options.retryUnitAttentions ?? true);
    try {
      await device.readCapacity16();
    } catch (err) {
      session.destroy();
      throw err;
    }
    return device;
  }

  get description(): string {
    return describeIscsiUrl(this.url);
  }

  async execute(cdb: Buffer, options?: ExecuteOptions): Promise<ScsiResult> {
    let r = await this.session.command(this.lun, cdb, options);
    for (let i = 0; this.retryUnitAttentions && i < UNIT_ATTENTION_RETRIES && isUnitAttention(r); i++) {
      r = await this.session.command(this.lun, cdb, options);
    }
    return r;
  }

  close(timeoutMs = 3000): Promise<void> {
    return this.session.logout(timeoutMs);
  }
}

/** Session options for a URL: its portal, target, CHAP and digests, then the caller's tuning. */
export function sessionOptionsFor(u: IscsiUrl, options: Omit<SessionOptions, 'host' | 'port' | 'targetName'>): SessionOptions {
  return {
    ...options,
    host: u.host,
    port: u.port,
    targetName: u.targetName,
    chap: u.chap ?? options.chap,
    headerDigest: u.headerDigest ?? options.headerDigest,
    dataDigest: u.dataDigest ?? options.dataDigest,
  };
}
