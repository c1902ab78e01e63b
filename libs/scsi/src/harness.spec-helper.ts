/** Test kit for the SCSI specs: an in-memory BlockStore, nexuses, and a one-call command runner. */
import { BlockStore } from '@tandem/storage';
import { LogicalUnit } from './logicalUnit';
import { ScsiTarget } from './scsiTarget';
import { decodeSense } from './sense';
import { ItNexus, ScsiTask } from './task';

export class MemoryBlockStore implements BlockStore {
  readonly kind = 'flat' as const;
  readonly location = 'memory';
  readonly thin = false;
  data: Buffer;
  writes: Array<{ position: number; length: number; fua: boolean }> = [];
  flushes = 0;
  failNext: Error | null = null;

  constructor(readonly blockSize: number, sizeBytes: number) {
    this.data = Buffer.alloc(sizeBytes);
  }

  get sizeBytes(): number {
    return this.data.length;
  }

  async read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    this.maybeFail();
    this.data.copy(buf, bufOffset, position, position + length);
  }

  async write(buf: Buffer, bufOffset: number, length: number, position: number, fua: boolean): Promise<void> {
    this.maybeFail();
    buf.copy(this.data, position, bufOffset, bufOffset + length);
    this.writes.push({ position, length, fua });
  }

  async flush(): Promise<void> {
    this.maybeFail();
    this.flushes++;
  }

  async grow(newSizeBytes: number): Promise<void> {
    const grown = Buffer.alloc(newSizeBytes);
    this.data.copy(grown);
    this.data = grown;
  }

  async close(): Promise<void> {}

  private maybeFail(): void {
    const err = this.failNext;
    this.failNext = null;
    if (err) throw err;
  }
}

export function nexus(n = 1): ItNexus {
  return {
    id: `iqn.1994-05.com.example:host${n},i,0x23d00000000${n}|iqn.2026-11.io.tandem:demo,t,0x0001`,
    initiatorName: `iqn.1994-05.com.example:host${n}`,
    initiatorPortName: `iqn.1994-05.com.example:host${n},i,0x23d00000000${n}`,
    targetName: 'iqn.2026-11.io.tandem:demo',
    targetPortName: 'iqn.2026-11.io.tandem:demo,t,0x0001',
    relativeTargetPortId: 1,
    targetPortGroupId: 7,
  };
}

export interface Fixture {
  store: MemoryBlockStore;
  lu: LogicalUnit;
  target: ScsiTarget;
  /** Runs one command on nexus 1 / LUN 0 by default. */
  run(cdb: number[] | Buffer, options?: RunOptions): Promise<Result>;
}

export interface RunOptions {
  lun?: number;
  nexus?: ItNexus;
  /** Expected data transfer length; default: allocation-friendly 64 KiB for reads, data length for writes. */
  expectedLength?: number;
  dataOut?: Buffer;
  read?: boolean;
}

export interface Result {
  task: ScsiTask;
  status: number;
  /** The bytes the transport would send: min(dataInLength, expectedLength). */
  data: Buffer;
  key: number;
  asc: number;
  ascq: number;
}

/** A target with one LU at LUN 0 whose power-on unit attention for nexus 1 was already consumed. */
export async function fixture(blockSize = 512, blocks = 2048, consumeUa = true): Promise<Fixture> {
  const store = new MemoryBlockStore(blockSize, blockSize * blocks);
  const lu = new LogicalUnit({ store, identity: { deviceId: 'dev-1', name: 'disk1', serial: 'SER123' } });
  const target = new ScsiTarget({ luns: [[0, lu]] });
  const run = (cdb: number[] | Buffer, options: RunOptions = {}) => runCommand(target, cdb, options);
  if (consumeUa) {
    target.nexusLoggedIn(nexus(1));
    await run([0, 0, 0, 0, 0, 0]);
  }
  return { store, lu, target, run };
}

export async function runCommand(target: ScsiTarget, cdb: number[] | Buffer, options: RunOptions = {}): Promise<Result> {
  const task = new ScsiTask();
  task.nexus = options.nexus ?? nexus(1);
  task.lun = options.lun ?? 0;
  const raw = Buffer.isBuffer(cdb) ? cdb : Buffer.from(cdb);
  task.cdb = Buffer.alloc(Math.max(16, raw.length));
  raw.copy(task.cdb);
  if (options.dataOut) {
    task.writeDirection = true;
    task.dataOut = options.dataOut;
    task.dataOutLength = options.expectedLength ?? options.dataOut.length;
    task.expectedLength = task.dataOutLength;
  } else {
    task.readDirection = options.read ?? true;
    task.expectedLength = options.expectedLength ?? 65536;
  }
  await target.execute(task);
  const sent = Math.min(task.dataInLength, task.expectedLength);
  const data = task.dataIn ? Buffer.from(task.dataIn.subarray(0, sent)) : Buffer.alloc(0);
  const sense = task.sense ? decodeSense(task.sense) : { key: 0, asc: 0, ascq: 0 };
  return { task, status: task.status, data, key: sense.key, asc: sense.asc, ascq: sense.ascq };
}

export function cdb10(opcode: number, lba: number, blocks: number, byte1 = 0): number[] {
  return [opcode, byte1, (lba >>> 24) & 0xff, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, (blocks >> 8) & 0xff, blocks & 0xff, 0];
}

export function cdb16(opcode: number, lba: number | bigint, blocks: number, byte1 = 0): number[] {
  const cdb = Buffer.alloc(16);
  cdb[0] = opcode;
  cdb[1] = byte1;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb.writeUInt32BE(blocks, 10);
  return [...cdb];
}

export function cdb12(opcode: number, lba: number, blocks: number, byte1 = 0): number[] {
  const cdb = Buffer.alloc(12);
  cdb[0] = opcode;
  cdb[1] = byte1;
  cdb.writeUInt32BE(lba >>> 0, 2);
  cdb.writeUInt32BE(blocks, 6);
  return [...cdb];
}
