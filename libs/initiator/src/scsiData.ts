/** Parsers for the parameter data the initiator reads: INQUIRY, VPD 0x83, READ CAPACITY (16), REPORT TARGET PORT GROUPS. */

export interface StandardInquiry {
  peripheralDeviceType: number;
  /** TPGS field: 0 no ALUA, 1 implicit, 2 explicit, 3 both. */
  tpgs: number;
  vendor: string;
  product: string;
  revision: string;
}

export function parseStandardInquiry(data: Buffer): StandardInquiry {
  if (data.length < 36) throw new RangeError(`standard INQUIRY data of ${data.length} bytes (need 36)`);
  return {
    peripheralDeviceType: data[0] & 0x1f,
    tpgs: (data[5] >> 4) & 3,
    vendor: data.toString('latin1', 8, 16).trim(),
    product: data.toString('latin1', 16, 32).trim(),
    revision: data.toString('latin1', 32, 36).trim(),
  };
}

export interface Capacity {
  /** Number of logical blocks (last LBA + 1). */
  blockCount: number;
  blockSize: number;
  /** Logical blocks per physical block, as a power of two exponent. */
  logicalPerPhysicalExponent: number;
  /** Logical block provisioning management enabled (thin). */
  thin: boolean;
}

export function parseReadCapacity16(data: Buffer): Capacity {
  if (data.length < 16) throw new RangeError(`READ CAPACITY (16) data of ${data.length} bytes (need 16)`);
  return {
    blockCount: data.readUInt32BE(0) * 0x100000000 + data.readUInt32BE(4) + 1,
    blockSize: data.readUInt32BE(8),
    logicalPerPhysicalExponent: data[13] & 0x0f,
    thin: (data[14] & 0x80) !== 0,
  };
}

export const DesignatorType = {
  VendorSpecific: 0x0,
  T10VendorId: 0x1,
  Eui64: 0x2,
  Naa: 0x3,
  RelativeTargetPort: 0x4,
  TargetPortGroup: 0x5,
  LogicalUnitGroup: 0x6,
  Md5LogicalUnit: 0x7,
  ScsiName: 0x8,
} as const;

export const DesignatorAssociation = { LogicalUnit: 0, TargetPort: 1, TargetDevice: 2 } as const;

export interface Designator {
  codeSet: number;
  protocolIdentifier: number;
  association: number;
  type: number;
  value: Buffer;
}

export interface DeviceIdentification {
  designators: Designator[];
  /** NAA designators of the logical unit, as lower-case hex: what MPIO compares across paths. */
  naa: string[];
  relativeTargetPort?: number;
  targetPortGroup?: number;
}

/** VPD page 0x83 (Device Identification). */
export function parseDeviceIdentification(page: Buffer): DeviceIdentification {
  if (page.length < 4 || page[1] !== 0x83) throw new RangeError('not a Device Identification VPD page');
  const end = Math.min(page.length, 4 + page.readUInt16BE(2));
  const out: DeviceIdentification = { designators: [], naa: [] };
  for (let at = 4; at + 4 <= end; ) {
    const length = page[at + 3];
    if (at + 4 + length > end) break;
    const d: Designator = {
      codeSet: page[at] & 0x0f,
      protocolIdentifier: page[at] >> 4,
      association: (page[at + 1] >> 4) & 3,
      type: page[at + 1] & 0x0f,
      value: Buffer.from(page.subarray(at + 4, at + 4 + length)),
    };
    out.designators.push(d);
    if (d.association === DesignatorAssociation.LogicalUnit && d.type === DesignatorType.Naa) out.naa.push(d.value.toString('hex'));
    if (d.association === DesignatorAssociation.TargetPort && length >= 4) {
      if (d.type === DesignatorType.RelativeTargetPort) out.relativeTargetPort = d.value.readUInt16BE(2);
      if (d.type === DesignatorType.TargetPortGroup) out.targetPortGroup = d.value.readUInt16BE(2);
    }
    at += 4 + length;
  }
  return out;
}

/** Asymmetric access states (SPC-4 table 171) by the names the initiator reports. */
export type AsymmetricAccessState =
  | 'active/optimized'
  | 'active/non-optimized'
  | 'standby'
  | 'unavailable'
  | 'logical-block-dependent'
  | 'offline'
  | 'transitioning';

export function accessStateFromCode(code: number): AsymmetricAccessState {
  switch (code & 0x0f) {
    case 0x0: return 'active/optimized';
    case 0x1: return 'active/non-optimized';
    case 0x2: return 'standby';
    case 0x3: return 'unavailable';
    case 0x4: return 'logical-block-dependent';
    case 0xe: return 'offline';
    case 0xf: return 'transitioning';
    default: return 'unavailable';
  }
}

export interface TargetPortGroupDescriptor {
  groupId: number;
  state: AsymmetricAccessState;
  /** PREF bit: the target recommends this group. */
  preferred: boolean;
  /** Supported-states bits (T_SUP, O_SUP, LBD_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP). */
  supportedStates: number;
  statusCode: number;
  relativeTargetPorts: number[];
}

/** REPORT TARGET PORT GROUPS parameter data, in either the length-only or the extended header format. */
export function parseTargetPortGroups(data: Buffer): TargetPortGroupDescriptor[] {
  if (data.length < 4) throw new RangeError('REPORT TARGET PORT GROUPS data shorter than its header');
  const end = Math.min(data.length, data.readUInt32BE(0) + 4);
  const extended = data.length >= 8 && (data[4] & 0x70) === 0x10;
  const out: TargetPortGroupDescriptor[] = [];
  for (let at = extended ? 8 : 4; at + 8 <= end; ) {
    const count = data[at + 7];
    if (at + 8 + count * 4 > end) break;
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(data.readUInt16BE(at + 8 + i * 4 + 2));
    out.push({
      groupId: data.readUInt16BE(at + 2),
      state: accessStateFromCode(data[at]),
      preferred: (data[at] & 0x80) !== 0,
      supportedStates: data[at + 1],
      statusCode: data[at + 5],
      relativeTargetPorts: ports,
    });
    at += 8 + count * 4;
  }
  return out;
}
