import { Opcode } from './cdb';
import { BLOCK_TO_BLOCK_LENGTH, CSCD_DESCRIPTOR_LENGTH, ListIdUsage, parseExtendedCopyParameters } from './extendedCopy';
import { MemoryBlockStore, nexus, runCommand } from './harness.spec-helper';
import { LogicalUnit } from './logicalUnit';
import { LuRegistry } from './luRegistry';
import { ScsiTarget } from './scsiTarget';
import { Asc, SenseKey } from './sense';
import { ScsiStatus } from './task';
import { COPY_LIMITS } from './thirdPartyCopy';

const BLOCK = 512;

function makeLu(id: string, blocks = 8192, blockSize = BLOCK): { lu: LogicalUnit; store: MemoryBlockStore } {
  const store = new MemoryBlockStore(blockSize, blockSize * blocks);
  return { lu: new LogicalUnit({ store, identity: { deviceId: id } }), store };
}

/** Identification CSCD descriptor (E4h) naming a LU by its NAA designator. */
function cscd(lu: LogicalUnit, blockLength = lu.blockSize, type = 0xe4): Buffer {
  const d = Buffer.alloc(CSCD_DESCRIPTOR_LENGTH);
  d[0] = type;
  d[4] = 0x01; // binary
  d[5] = 0x03; // association LU, NAA
  d[7] = lu.identity.naa.length;
  lu.identity.naa.copy(d, 8);
  d.writeUIntBE(blockLength, 29, 3);
  return d;
}

function segment(source: number, destination: number, blocks: number, sourceLba: number, destinationLba: number, type = 0x02): Buffer {
  const d = Buffer.alloc(BLOCK_TO_BLOCK_LENGTH);
  d[0] = type;
  d.writeUInt16BE(BLOCK_TO_BLOCK_LENGTH - 4, 2);
  d.writeUInt16BE(source, 4);
  d.writeUInt16BE(destination, 6);
  d.writeUInt16BE(blocks, 10);
  d.writeBigUInt64BE(BigInt(sourceLba), 12);
  d.writeBigUInt64BE(BigInt(destinationLba), 20);
  return d;
}

function parameterList(targets: Buffer[], segments: Buffer[], listId = 1, usage = ListIdUsage.Hold): Buffer {
  const t = Buffer.concat(targets);
  const s = Buffer.concat(segments);
  const header = Buffer.alloc(16);
  header[0] = listId;
  header[1] = usage << 3;
  header.writeUInt16BE(t.length, 2);
  header.writeUInt32BE(s.length, 8);
  return Buffer.concat([header, t, s]);
}

function xcopyCdb(length: number, serviceAction = 0): number[] {
  const cdb = Buffer.alloc(16);
  cdb[0] = Opcode.ExtendedCopy;
  cdb[1] = serviceAction;
  cdb.writeUInt32BE(length, 10);
  return [...cdb];
}

function receiveCopyResultsCdb(serviceAction: number, listId = 0, allocation = 1024): number[] {
  const cdb = Buffer.alloc(16);
  cdb[0] = Opcode.ReceiveCopyResults;
  cdb[1] = serviceAction;
  cdb[2] = listId;
  cdb.writeUInt32BE(allocation, 10);
  return [...cdb];
}

/** A target with two LUs (LUN 0 and 1); the power-on unit attentions of nexus 1 are consumed. */
async function twoLuns() {
  const a = makeLu('dev-a');
  const b = makeLu('dev-b');
  const target = new ScsiTarget({ luns: [[0, a.lu], [1, b.lu]] });
  for (const lun of [0, 1]) await runCommand(target, [0, 0, 0, 0, 0, 0], { lun });
  const xcopy = (data: Buffer, lun = 0) => runCommand(target, xcopyCdb(data.length), { lun, dataOut: data });
  return { a, b, target, xcopy };
}

describe('EXTENDED COPY parameter list', () => {
  const { lu } = makeLu('dev-p');
  const resolve = () => lu;
  const parse = (data: Buffer, length = data.length) => parseExtendedCopyParameters(data, length, resolve);

  it('decodes the header, identification descriptors and block → block segments', () => {
    const parsed = parse(parameterList([cscd(lu), cscd(lu)], [segment(0, 1, 16, 100, 200)], 7, ListIdUsage.Discard));
    expect(parsed).toEqual({
      listId: 7,
      listIdUsage: ListIdUsage.Discard,
      targets: [
        { offset: 16, lu, blockLength: 512 },
        { offset: 48, lu, blockLength: 512 },
      ],
      segments: [{ offset: 80, sourceIndex: 0, destinationIndex: 1, destinationCount: false, blocks: 16, sourceLba: 100, destinationLba: 200 }],
    });
  });

  it('refuses lists longer than what was sent, and descriptor lists over the advertised maximum', () => {
    const data = parameterList([cscd(lu)], [segment(0, 0, 1, 0, 1)]);
    expect(parse(data, data.length - 1)).toEqual({ asc: Asc.ParameterListLengthError });
    expect(parse(data, 15)).toEqual({ asc: Asc.ParameterListLengthError });
    const targets = Array.from({ length: COPY_LIMITS.maxCscdDescriptors + 1 }, () => cscd(lu));
    const segments = Array.from({ length: 63 }, () => segment(0, 0, 1, 0, 1)); // 9 × 32 + 63 × 28 > 2048
    expect(parse(parameterList(targets, segments))).toEqual({ asc: Asc.ParameterListLengthError });
  });

  it('counts descriptors against the limits', () => {
    const targets = Array.from({ length: COPY_LIMITS.maxCscdDescriptors + 1 }, () => cscd(lu));
    expect(parse(parameterList(targets, [segment(0, 0, 1, 0, 1)]))).toMatchObject({ asc: Asc.TooManyTargetDescriptors });
    const segments = Array.from({ length: COPY_LIMITS.maxSegmentDescriptors + 1 }, () => segment(0, 0, 1, 0, 1));
    expect(parse(parameterList([cscd(lu)], segments))).toMatchObject({ asc: Asc.TooManySegmentDescriptors });
  });

  it('names the unsupported descriptor type codes', () => {
    expect(parse(parameterList([cscd(lu, 512, 0xe0)], [segment(0, 0, 1, 0, 1)]))).toEqual({ asc: Asc.UnsupportedTargetDescriptorTypeCode, byte: 16 });
    expect(parse(parameterList([cscd(lu)], [segment(0, 0, 1, 0, 1, 0x03)]))).toEqual({ asc: Asc.UnsupportedSegmentDescriptorTypeCode, byte: 48 });
  });

  it('refuses a reserved LIST ID USAGE, a list id with usage 11b and a wrong DISK BLOCK LENGTH', () => {
    expect(parse(parameterList([cscd(lu)], [], 1, ListIdUsage.Reserved))).toMatchObject({ asc: Asc.InvalidFieldInParameterList, byte: 1 });
    expect(parse(parameterList([cscd(lu)], [], 1, ListIdUsage.NoListId))).toMatchObject({ asc: Asc.InvalidFieldInParameterList, byte: 0 });
    expect(parse(parameterList([cscd(lu, 4096)], []))).toEqual({ asc: Asc.InvalidFieldInParameterList, byte: 16 + 29 });
  });

  it('ignores LU ID TYPE (SPC-4) and leaves unknown LUs unresolved', () => {
    const d = cscd(lu);
    d[1] = 0x80; // LU ID TYPE 10b
    const parsed = parseExtendedCopyParameters(parameterList([d], []), 48, () => null);
    expect(parsed).toMatchObject({ targets: [{ lu: null }] });
  });
});

describe('EXTENDED COPY', () => {
  it('copies blocks between two LUs of the target, in chunks of at most 1 MiB', async () => {
    const { a, b, xcopy } = await twoLuns();
    a.store.data.fill(0x41, 100 * BLOCK, 3100 * BLOCK);
    b.store.writes = [];
    const r = await xcopy(parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 3000, 100, 5000)]));
    expect(r.status).toBe(ScsiStatus.Good);
    expect(b.store.data.subarray(5000 * BLOCK, 8000 * BLOCK).every((x) => x === 0x41)).toBe(true);
    expect(b.store.data[4999 * BLOCK]).toBe(0);
    expect(b.store.writes.map((w) => w.length)).toEqual([1048576, 487424]);
    expect(a.lu.lbaLock.held + b.lu.lbaLock.held).toBe(0);
  });

  it('copies several segments, also within one LU, and DC counts destination blocks', async () => {
    const { a, b, xcopy } = await twoLuns();
    a.store.data.fill(1, 0, BLOCK);
    a.store.data.fill(2, BLOCK, 2 * BLOCK);
    const dc = segment(0, 0, 1, 1, 11);
    dc[1] = 0x02;
    const r = await xcopy(parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 1, 0, 7), segment(0, 0, 1, 0, 10), dc]));
    expect(r.status).toBe(ScsiStatus.Good);
    expect(b.store.data[7 * BLOCK]).toBe(1);
    expect(a.store.data[10 * BLOCK]).toBe(1);
    expect(a.store.data[11 * BLOCK]).toBe(2);
  });

  it('copies overlapping ranges of one LU as if read before written', async () => {
    const { a, xcopy } = await twoLuns();
    for (let i = 0; i < 4096; i++) a.store.data.fill(i & 0xff, i * BLOCK, (i + 1) * BLOCK);
    const r = await xcopy(parameterList([cscd(a.lu)], [segment(0, 0, 4000, 0, 10)]));
    expect(r.status).toBe(ScsiStatus.Good);
    for (const i of [0, 9, 2047, 3999]) expect(a.store.data[(i + 10) * BLOCK]).toBe(i & 0xff);
  });

  it('reaches LUs of other targets through a shared node registry', async () => {
    const registry = new LuRegistry();
    const a = makeLu('dev-a');
    const b = makeLu('dev-b');
    const targetA = new ScsiTarget({ luns: [[0, a.lu]], registry });
    new ScsiTarget({ luns: [[0, b.lu]], registry });
    await runCommand(targetA, [0, 0, 0, 0, 0, 0]);
    a.store.data.fill(0x5a, 0, 8 * BLOCK);
    const data = parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 8, 0, 0)]);
    const r = await runCommand(targetA, xcopyCdb(data.length), { dataOut: data });
    expect(r.status).toBe(ScsiStatus.Good);
    expect(b.store.data.subarray(0, 8 * BLOCK).every((x) => x === 0x5a)).toBe(true);
    expect(LuRegistry.of(b.lu)).toBe(registry);
  });

  it('answers a parameter list length of 0 with GOOD and checks the list length against the Data-Out', async () => {
    const { target, xcopy } = await twoLuns();
    expect((await runCommand(target, xcopyCdb(0), { read: false, expectedLength: 0 })).status).toBe(ScsiStatus.Good);
    const r = await xcopy(Buffer.alloc(8));
    expect([r.key, r.asc, r.ascq]).toEqual([SenseKey.IllegalRequest, 0x1a, 0x00]);
  });

  it('refuses EXTENDED COPY (LID4) and other service actions', async () => {
    const { target } = await twoLuns();
    const r = await runCommand(target, xcopyCdb(16, 0x01), { dataOut: Buffer.alloc(16) });
    expect([r.key, r.asc]).toEqual([SenseKey.IllegalRequest, 0x24]);
  });

  it('aborts the copy with COPY TARGET DEVICE NOT REACHABLE for a LU not on this node or a missing CSCD', async () => {
    const { a, b, xcopy } = await twoLuns();
    const elsewhere = makeLu('dev-elsewhere').lu;
    let r = await xcopy(parameterList([cscd(a.lu), cscd(elsewhere)], [segment(0, 1, 8, 0, 0)]));
    expect([r.key, r.asc, r.ascq]).toEqual([SenseKey.CopyAborted, 0x0d, 0x02]);
    expect(r.task.sense![15]).toBe(0xa0); // SKSV, SD: pointer into the segment descriptor
    expect(r.task.sense!.readUInt16BE(16)).toBe(6); // DESTINATION CSCD DESCRIPTOR INDEX
    r = await xcopy(parameterList([cscd(a.lu)], [segment(0, 1, 8, 0, 0)]));
    expect([r.key, r.asc, r.ascq]).toEqual([SenseKey.CopyAborted, 0x0d, 0x02]);
    expect(b.store.writes).toHaveLength(0);
  });

  it('checks every segment before copying anything', async () => {
    const { a, b, xcopy } = await twoLuns();
    const r = await xcopy(parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 8, 0, 0), segment(0, 1, 16, 0, 8190)]));
    expect([r.key, r.asc, r.ascq]).toEqual([SenseKey.CopyAborted, 0, 0]);
    expect(r.task.sense!.readUInt32BE(8)).toBe(1); // COMMAND-SPECIFIC INFORMATION: the failed segment
    expect(r.task.sense!.readUInt16BE(16)).toBe(20); // DESTINATION LOGICAL BLOCK ADDRESS
    expect(b.store.writes).toHaveLength(0);
  });

  it('maps the parameter list errors to ILLEGAL REQUEST', async () => {
    const { a, xcopy } = await twoLuns();
    const r = await xcopy(parameterList([cscd(a.lu, 512, 0xe0)], [segment(0, 0, 1, 0, 1)]));
    expect([r.key, r.asc, r.ascq]).toEqual([SenseKey.IllegalRequest, 0x26, 0x07]);
  });

  it('is a write for the reservation check of the destination LU', async () => {
    const { a, b, target, xcopy } = await twoLuns();
    const other = nexus(2);
    const prOut = (action: number, data: Buffer, type = 0) =>
      runCommand(target, [0x5f, action, type, 0, 0, 0, 0, 0, data.length, 0], { lun: 1, nexus: other, dataOut: data });
    await runCommand(target, [0, 0, 0, 0, 0, 0], { lun: 1, nexus: other });
    const key = Buffer.alloc(24);
    key.writeUInt32BE(0xabc, 12); // SERVICE ACTION RESERVATION KEY
    expect((await prOut(0x00, key)).status).toBe(ScsiStatus.Good);
    const reserve = Buffer.alloc(24);
    reserve.writeUInt32BE(0xabc, 4);
    expect((await prOut(0x01, reserve, 0x01)).status).toBe(ScsiStatus.Good); // WRITE EXCLUSIVE
    const r = await xcopy(parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 8, 0, 0)]));
    expect(r.status).toBe(ScsiStatus.ReservationConflict);
    // Reading from the reserved LU is allowed under WRITE EXCLUSIVE.
    expect((await xcopy(parameterList([cscd(b.lu), cscd(a.lu)], [segment(0, 1, 8, 0, 0)]))).status).toBe(ScsiStatus.Good);
  });
});

describe('RECEIVE COPY RESULTS', () => {
  it('reports OPERATING PARAMETERS as advertised and enforced', async () => {
    const { target } = await twoLuns();
    const r = await runCommand(target, receiveCopyResultsCdb(0x03));
    expect(r.status).toBe(ScsiStatus.Good);
    const d = r.data;
    expect(d.readUInt32BE(0)).toBe(d.length - 4);
    expect(d.readUInt16BE(8)).toBe(COPY_LIMITS.maxCscdDescriptors);
    expect(d.readUInt16BE(10)).toBe(COPY_LIMITS.maxSegmentDescriptors);
    expect(d.readUInt32BE(12)).toBe(COPY_LIMITS.maxDescriptorListLength);
    expect(d.readUInt32BE(16)).toBe(COPY_LIMITS.maxSegmentBytes);
    expect(d.readUInt32BE(20)).toBe(0); // no inline data
    expect([...d.subarray(44, 44 + d[43])]).toEqual([0x02, 0xe4]);
  });

  it('reports the COPY STATUS of a held list id of this nexus only', async () => {
    const { a, b, target, xcopy } = await twoLuns();
    const status = (listId: number, n = nexus(1)) => runCommand(target, receiveCopyResultsCdb(0x00, listId), { nexus: n });
    expect((await status(1)).asc).toBe(0x24);
    expect((await xcopy(parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 8, 0, 0), segment(0, 1, 8, 8, 8)], 1))).status).toBe(ScsiStatus.Good);
    const r = await status(1);
    expect(r.status).toBe(ScsiStatus.Good);
    expect([...r.data]).toEqual([0, 0, 0, 8, 0x01, 0, 2, 0x00, 0, 0, 0x20, 0x00]); // completed, 2 segments, 8192 bytes
    await runCommand(target, [0, 0, 0, 0, 0, 0], { nexus: nexus(2) });
    expect((await status(1, nexus(2))).asc).toBe(0x24);
    // LIST ID USAGE 10b: nothing is held.
    expect((await xcopy(parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 8, 0, 0)], 2, ListIdUsage.Discard))).status).toBe(ScsiStatus.Good);
    expect((await status(2)).asc).toBe(0x24);
  });

  it('reports a failed copy as completed with errors', async () => {
    const { a, b, target, xcopy } = await twoLuns();
    await xcopy(parameterList([cscd(a.lu), cscd(b.lu)], [segment(0, 1, 8, 8190, 0)], 3));
    const r = await runCommand(target, receiveCopyResultsCdb(0x00, 3));
    expect(r.data[4]).toBe(0x02);
  });

  it('refuses the service actions it does not offer', async () => {
    const { target } = await twoLuns();
    for (const action of [0x01, 0x04, 0x05]) expect((await runCommand(target, receiveCopyResultsCdb(action))).asc).toBe(0x24);
  });
});

describe('third-party copy advertisement', () => {
  it('sets 3PC, lists VPD 8Fh and reports the limits there', async () => {
    const { target } = await twoLuns();
    const standard = await runCommand(target, [0x12, 0, 0, 0, 96, 0]);
    expect(standard.data[5] & 0x08).toBe(0x08);
    const pages = await runCommand(target, [0x12, 1, 0x00, 0, 255, 0]);
    expect([...pages.data.subarray(4)]).toContain(0x8f);
    const page = (await runCommand(target, [0x12, 1, 0x8f, 0x01, 0, 0])).data;
    expect(page[1]).toBe(0x8f);
    const descriptors = new Map<number, Buffer>();
    for (let at = 4; at < 4 + page.readUInt16BE(2); ) {
      const length = page.readUInt16BE(at + 2);
      expect(length % 4).toBe(0);
      descriptors.set(page.readUInt16BE(at), page.subarray(at, at + 4 + length));
      at += 4 + length;
    }
    expect([...descriptors.keys()]).toEqual([0x0001, 0x0004, 0x0008, 0x8001]);
    const commands = descriptors.get(0x0001)!;
    expect([...commands.subarray(5, 5 + commands[4])]).toEqual([0x83, 1, 0x00, 0x84, 2, 0x00, 0x03]);
    expect(descriptors.get(0x0004)!.readUInt16BE(8)).toBe(COPY_LIMITS.maxCscdDescriptors);
    expect(descriptors.get(0x0004)!.readUInt32BE(12)).toBe(COPY_LIMITS.maxDescriptorListLength);
    expect(descriptors.get(0x8001)!.readUInt32BE(12)).toBe(COPY_LIMITS.maxSegmentBytes);
  });

  it('lists EXTENDED COPY and RECEIVE COPY RESULTS in REPORT SUPPORTED OPERATION CODES', async () => {
    const { target } = await twoLuns();
    const one = await runCommand(target, [0xa3, 0x0c, 0x02, 0x83, 0, 0x00, 0, 0, 1, 0, 0, 0]);
    expect(one.data[1] & 0x07).toBe(0x03);
    expect([...one.data.subarray(4, 4 + one.data.readUInt16BE(2))]).toEqual([0x83, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0]);
    const status = await runCommand(target, [0xa3, 0x0c, 0x02, 0x84, 0, 0x00, 0, 0, 1, 0, 0, 0]);
    expect(status.data[6]).toBe(0xff); // LIST IDENTIFIER
  });
});
