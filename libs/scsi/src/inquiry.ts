/** INQUIRY (SPC-4 6.6): standard data and the vital product data pages. */
import { writeUInt64 } from './cdb';
import { returnData } from './dataIn';
import { LogicalUnit } from './logicalUnit';
import { t10VendorIdDesignator } from './luRegistry';
import { Asc, SenseKey, buildSense, checkCondition } from './sense';
import { ItNexus, ScsiTask } from './task';
import { thirdPartyCopyVpd } from './thirdPartyCopy';

export const enum VpdPage {
  SupportedPages = 0x00,
  UnitSerialNumber = 0x80,
  DeviceIdentification = 0x83,
  ThirdPartyCopy = 0x8f,
  BlockLimits = 0xb0,
  BlockDeviceCharacteristics = 0xb1,
  LogicalBlockProvisioning = 0xb2,
}

/** Ascending, as the supported pages list must be. */
const SUPPORTED_VPD_PAGES = [
  VpdPage.SupportedPages,
  VpdPage.UnitSerialNumber,
  VpdPage.DeviceIdentification,
  VpdPage.ThirdPartyCopy,
  VpdPage.BlockLimits,
  VpdPage.BlockDeviceCharacteristics,
  VpdPage.LogicalBlockProvisioning,
];

/** Direct-access block device, LU present. */
const PERIPHERAL_DISK = 0x00;
/** Qualifier 011b, type 1Fh: no LU at this LUN (SPC-4 6.6.2). */
export const PERIPHERAL_NO_LU = 0x7f;

const STANDARD_INQUIRY_LENGTH = 96;
/** TPGS 01b: implicit ALUA only (states change by config/API/HA, not by SET TARGET PORT GROUPS). */
const TPGS_IMPLICIT = 0x10;
/** 3PC: EXTENDED COPY and VPD 8Fh (thirdPartyCopy.ts). */
const THIRD_PARTY_COPY = 0x08;

// Version descriptors (SPC-4 table 36): SAM-5, iSCSI, SPC-4, SBC-3.
const VERSION_DESCRIPTORS = [0x00a0, 0x0960, 0x0460, 0x04c0];

/** Handles INQUIRY for a LUN that may have no LU (then `lu` is null). Never raises a unit attention. */
export function inquiry(lu: LogicalUnit | null, task: ScsiTask): void {
  const cdb = task.cdb;
  const evpd = (cdb[1] & 0x01) !== 0;
  const pageCode = cdb[2];
  const allocationLength = cdb.readUInt16BE(3);
  const descriptorSense = lu?.modePages.descriptorSense ?? false;
  const invalidField = (byte: number, bit?: number): void =>
    checkCondition(
      task,
      buildSense(SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, descriptorSense, undefined, { inCdb: true, byte, bit }),
    );

  if (cdb[1] & 0x02) return invalidField(1, 1); // CMDDT is obsolete
  if (!evpd) {
    if (pageCode !== 0) return invalidField(2);
    return returnData(task, standardInquiryData(lu), allocationLength);
  }
  if (!lu) {
    if (pageCode !== VpdPage.SupportedPages) return invalidField(2);
    return returnData(task, vpdPage(PERIPHERAL_NO_LU, pageCode, Buffer.alloc(0)), allocationLength);
  }
  let body: Buffer;
  switch (pageCode) {
    case VpdPage.SupportedPages:
      body = Buffer.from(SUPPORTED_VPD_PAGES);
      break;
    case VpdPage.UnitSerialNumber:
      body = Buffer.from(lu.identity.serial, 'ascii');
      break;
    case VpdPage.DeviceIdentification:
      body = deviceIdentification(lu, task.nexus);
      break;
    case VpdPage.ThirdPartyCopy:
      body = thirdPartyCopyVpd();
      break;
    case VpdPage.BlockLimits:
      body = blockLimits(lu);
      break;
    case VpdPage.BlockDeviceCharacteristics:
      body = blockDeviceCharacteristics();
      break;
    case VpdPage.LogicalBlockProvisioning:
      body = logicalBlockProvisioning(lu);
      break;
    default:
      return invalidField(2);
  }
  returnData(task, vpdPage(PERIPHERAL_DISK, pageCode, body), allocationLength);
}

export function standardInquiryData(lu: LogicalUnit | null): Buffer {
  const data = Buffer.alloc(STANDARD_INQUIRY_LENGTH);
  data[0] = lu ? PERIPHERAL_DISK : PERIPHERAL_NO_LU;
  data[1] = 0x00; // not removable
  data[2] = 0x06; // SPC-4
  data[3] = 0x12; // HISUP, response data format 2
  data[4] = STANDARD_INQUIRY_LENGTH - 5;
  data[5] = TPGS_IMPLICIT | THIRD_PARTY_COPY; // no SCCS, ACC, PROTECT
  data[6] = 0x00;
  data[7] = 0x02; // CMDQUE
  const identity = lu?.identity;
  data.write(identity?.vendor ?? 'TANDEM  ', 8, 8, 'ascii');
  data.write(identity?.product ?? 'vDisk           ', 16, 16, 'ascii');
  data.write(identity?.revision ?? '0001', 32, 4, 'ascii');
  VERSION_DESCRIPTORS.forEach((descriptor, i) => data.writeUInt16BE(descriptor, 58 + i * 2));
  return data;
}

function vpdPage(peripheral: number, pageCode: number, body: Buffer): Buffer {
  const page = Buffer.alloc(4 + body.length);
  page[0] = peripheral;
  page[1] = pageCode;
  page.writeUInt16BE(body.length, 2);
  body.copy(page, 4);
  return page;
}

// ---- 0x83 device identification ----

const enum CodeSet {
  Binary = 1,
  Ascii = 2,
  Utf8 = 3,
}
const enum Association {
  LogicalUnit = 0,
  TargetPort = 1,
  TargetDevice = 2,
}
const enum DesignatorType {
  T10VendorId = 1,
  Naa = 3,
  RelativeTargetPort = 4,
  TargetPortGroup = 5,
  ScsiNameString = 8,
}
const PROTOCOL_ISCSI = 5;

function designator(codeSet: CodeSet, association: Association, type: DesignatorType, value: Buffer): Buffer {
  const d = Buffer.alloc(4 + value.length);
  // PIV (and the protocol identifier) only for target port and target device designators.
  const piv = association !== Association.LogicalUnit;
  d[0] = (piv ? PROTOCOL_ISCSI << 4 : 0) | codeSet;
  d[1] = (piv ? 0x80 : 0) | (association << 4) | type;
  d[3] = value.length;
  value.copy(d, 4);
  return d;
}

/** SCSI name string: UTF-8, null terminated, padded with nulls to a multiple of 4 (SPC-4 7.8.6.11). */
function scsiNameString(name: string): Buffer {
  const text = Buffer.from(name, 'utf8').subarray(0, 251);
  const length = (text.length + 4) & ~3;
  const value = Buffer.alloc(length);
  text.copy(value);
  return value;
}

function deviceIdentification(lu: LogicalUnit, nexus: ItNexus | undefined): Buffer {
  const identity = lu.identity;
  const parts: Buffer[] = [
    designator(CodeSet.Binary, Association.LogicalUnit, DesignatorType.Naa, identity.naa),
    designator(
      CodeSet.Ascii,
      Association.LogicalUnit,
      DesignatorType.T10VendorId,
      t10VendorIdDesignator(identity),
    ),
  ];
  if (nexus) {
    const port = Buffer.alloc(4);
    port.writeUInt16BE(nexus.relativeTargetPortId & 0xffff, 2);
    parts.push(designator(CodeSet.Binary, Association.TargetPort, DesignatorType.RelativeTargetPort, port));
    const group = Buffer.alloc(4);
    group.writeUInt16BE(nexus.targetPortGroupId & 0xffff, 2);
    parts.push(designator(CodeSet.Binary, Association.TargetPort, DesignatorType.TargetPortGroup, group));
    if (nexus.targetPortName) {
      parts.push(designator(CodeSet.Utf8, Association.TargetPort, DesignatorType.ScsiNameString, scsiNameString(nexus.targetPortName)));
    }
    if (nexus.targetName) {
      parts.push(designator(CodeSet.Utf8, Association.TargetDevice, DesignatorType.ScsiNameString, scsiNameString(nexus.targetName)));
    }
  }
  return Buffer.concat(parts);
}

// ---- 0xB0 block limits (SBC-3 6.5.3) ----

function blockLimits(lu: LogicalUnit): Buffer {
  const body = Buffer.alloc(0x3c);
  // byte 0 WSNZ 0 (WRITE SAME of 0 blocks runs to the last LBA)
  body[1] = lu.maxCompareAndWriteBlocks; // MAXIMUM COMPARE AND WRITE LENGTH
  const blocksPer4k = Math.max(1, 4096 / lu.blockSize);
  body.writeUInt16BE(blocksPer4k, 2); // OPTIMAL TRANSFER LENGTH GRANULARITY
  body.writeUInt32BE(lu.maxTransferBlocks, 4); // MAXIMUM TRANSFER LENGTH
  body.writeUInt32BE(0, 8); // OPTIMAL TRANSFER LENGTH: not reported
  body.writeUInt32BE(0, 12); // MAXIMUM PREFETCH LENGTH: no limit of its own
  if (lu.thinProvisioned) {
    body.writeUInt32BE(lu.maxUnmapBlocks, 16); // MAXIMUM UNMAP LBA COUNT
    body.writeUInt32BE(lu.maxUnmapDescriptors, 20); // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
    body.writeUInt32BE(lu.unmapGranularityBlocks, 24); // OPTIMAL UNMAP GRANULARITY
    body.writeUInt32BE(0x80000000, 28); // UGAVALID, UNMAP GRANULARITY ALIGNMENT 0
  }
  writeUInt64(body, lu.maxWriteSameBlocks, 32); // MAXIMUM WRITE SAME LENGTH
  return body;
}

// ---- 0xB1 block device characteristics (SBC-3 6.5.2) ----

function blockDeviceCharacteristics(): Buffer {
  const body = Buffer.alloc(0x3c);
  body.writeUInt16BE(0x0001, 0); // MEDIUM ROTATION RATE: non-rotating medium
  return body;
}

// ---- 0xB2 logical block provisioning (SBC-3 6.5.4) ----

const LBPU = 0x80;
const LBPWS = 0x40;
const LBPWS10 = 0x20;
/** LBPRZ 001b: unmapped blocks read as zeros. */
const LBPRZ = 0x04;
const PROVISIONING_THIN = 0x02;

/** Thin: UNMAP and WRITE SAME (10/16) with UNMAP, zeros after unmap; thick: all clear (fully provisioned). */
function logicalBlockProvisioning(lu: LogicalUnit): Buffer {
  const body = Buffer.alloc(4);
  if (lu.thinProvisioned) {
    body[0] = 0; // THRESHOLD EXPONENT: no thresholds
    body[1] = LBPU | LBPWS | LBPWS10 | LBPRZ; // ANC_SUP 0, DP 0
    body[2] = PROVISIONING_THIN;
  }
  return body;
}
