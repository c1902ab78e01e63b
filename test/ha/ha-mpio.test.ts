// The HA pair under load through Tandem's own MPIO initiator (least-queue-depth over one path per node): writers
// put unique self-checking blocks (LBA + sequence number) and readers check no block ever comes back older than
// its last acknowledged write. node-a is killed (-9) in the middle; I/O goes on through node-b without an error to
// the writers; the failover time is printed; node-a comes back, is resynced, and the images end identical.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MultipathDevice } from '@tandem/initiator';
import { run } from '../support/process';
import { qemuIo } from '../support/qemuIo';
import { haEvents, haPair, kill9, startNode, stopNode, type HaNode } from '../support/haPair';
import { until } from '../support/until';
import { describeWithTools } from '../support/tools';

const MiB = 1 << 20;
const BLOCK = 4096;
const BLOCKS = (64 * MiB) / BLOCK;
const WRITERS = 8;
/** The LU has 512-byte logical blocks: a 4 KiB test block is 8 of them. */
const SECTORS = BLOCK / 512;

/** A block that says what it is: its LBA and sequence number, repeated over the whole 4 KiB. */
function stamp(buf: Buffer, lba: number, seq: number): Buffer {
  for (let at = 0; at < BLOCK; at += 16) {
    buf.writeUInt32BE(0x54414e44, at); // 'TAND'
    buf.writeUInt32BE(lba, at + 4);
    buf.writeDoubleBE(seq, at + 8);
  }
  return buf;
}

/** The sequence number a block holds (0 for a never-written block); throws on a torn or foreign block. */
function seqOf(buf: Buffer, lba: number): number {
  if (buf.every((b) => b === 0)) return 0;
  const seq = buf.readDoubleBE(8);
  for (let at = 0; at < BLOCK; at += 16) {
    if (buf.readUInt32BE(at) !== 0x54414e44 || buf.readUInt32BE(at + 4) !== lba || buf.readDoubleBE(at + 8) !== seq) throw new Error(`block ${lba} is torn or foreign at byte ${at}`);
  }
  return seq;
}

const qemuIoOk = async (url: string): Promise<boolean> => (await qemuIo(url, ['read 0 4k'], 10_000)).ok;

describeWithTools(['qemu-io', 'qemu-img'], 'HA pair through the MPIO initiator: kill -9 under write load', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ha-mpio-'));
  let a: HaNode;
  let b: HaNode;
  let mp: MultipathDevice | undefined;

  afterAll(async () => {
    await mp?.close().catch(() => undefined);
    await Promise.all([stopNode(a), stopNode(b)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('loses no acknowledged write, never reads older data, fails over, resyncs to identical images', async () => {
    ({ a, b } = await haPair({ dir, sizeBytes: 64 * MiB, startupWaitMs: 2000 }));
    await Promise.all([startNode(a), startNode(b)]);
    await until(async () => (await qemuIoOk(a.url)) && (await qemuIoOk(b.url)), 'both nodes serving', 30_000);
    mp = await MultipathDevice.open([a.url, b.url], { policy: 'least-queue-depth', ioDeadlineMs: 20_000, commandTimeoutMs: 5000, reconnectMaxMs: 1000 });
    const failovers: number[] = [];
    mp.on('failover', (e) => failovers.push(e.elapsedMs));

    const acked = new Float64Array(BLOCKS);
    let seq = 0;
    let writes = 0;
    let reads = 0;
    let stop = false;
    const problems: string[] = [];
    // Writer w owns the LBAs ≡ w (mod WRITERS): one write at a time per LBA, so "last acknowledged" is exact.
    const writer = async (w: number) => {
      const buf = Buffer.alloc(BLOCK);
      const check = Buffer.alloc(BLOCK);
      for (let i = 0; !stop; i++) {
        const lba = ((i * 7919 + w * 131) % (BLOCKS / WRITERS)) * WRITERS + w;
        const s = ++seq;
        try {
          await mp!.write(lba * SECTORS, stamp(buf, lba, s));
          acked[lba] = s;
          writes++;
          if (i % 4 === 0) {
            const back = seqOf(await mp!.read(lba * SECTORS, SECTORS, check), lba);
            reads++;
            if (back < acked[lba]) problems.push(`LBA ${lba}: read ${back} after write ${acked[lba]} was acknowledged`);
          }
        } catch (error) {
          problems.push(`LBA ${lba}: ${(error as Error).message}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    await new Promise((r) => setTimeout(r, 2000));
    const before = writes;
    const killedAt = Date.now();
    await kill9(a);
    await until(() => writes > before + 50, 'writes going on after the kill', 20_000, 5);
    process.stdout.write(`failover: kill -9 of node-a → writes completing through node-b after ${Date.now() - killedAt} ms (initiator failover ${failovers.join(', ') || 'n/a'} ms)\n`);
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await load;
    expect(problems).toEqual([]);
    expect(writes).toBeGreaterThan(before + 50);

    // Every acknowledged block reads back as written, through node-b alone.
    const check = async () => {
      const buf = Buffer.alloc(BLOCK);
      for (let lba = 0; lba < BLOCKS; lba++) {
        if (acked[lba] === 0) continue;
        const got = seqOf(await mp!.read(lba * SECTORS, SECTORS, buf), lba);
        if (got < acked[lba]) problems.push(`LBA ${lba}: ${got} < acknowledged ${acked[lba]}`);
      }
    };
    await check();
    expect(problems).toEqual([]);

    // node-a comes back: resynced from node-b, it serves again; then both copies are the same bytes.
    a.log = '';
    await startNode(a);
    await until(() => haEvents(b).some((e) => e.type === 'ResyncCompleted'), 'the resync', 60_000);
    await until(async () => qemuIoOk(a.url), 'node-a serving again', 30_000);
    await check();
    expect(problems).toEqual([]);
    process.stdout.write(`verifier: ${writes} writes, ${reads} read-backs, no lost or stale block\n`);
    expect(haEvents(b).map((e) => e.type)).toEqual(expect.arrayContaining(['ReplicaNotSynchronized', 'ResyncStarted', 'ResyncCompleted', 'ReplicaSynchronized']));
    await mp.close();
    mp = undefined;
    await Promise.all([stopNode(a), stopNode(b)]);
    const compare = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', a.image, b.image], { timeoutMs: 60_000 });
    expect(compare.stdout).toMatch(/Images are identical/);
  }, 180_000);
});
