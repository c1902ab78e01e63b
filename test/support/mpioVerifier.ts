// A self-checking load through Tandem's MPIO initiator, for the HA fault tests: writers put unique blocks (the LBA
// and a sequence number repeated over 4 KiB) and read some back; a block read back older than its last acknowledged
// write, torn or foreign, is a problem. Writer w owns the LBAs ≡ w (mod writers) and has one write in flight, so
// "last acknowledged" is exact per LBA. Writes that fail (no path within the I/O deadline) are counted apart: they
// were never acknowledged, so either content may be read back later.
import { MultipathDevice, type MultipathOptions, type PathPolicy } from '@tandem/initiator';
import { run, until } from '@tandem/testing';

const BLOCK = 4096;
const MAGIC = 0x54414e44; // 'TAND'

/** A block that says what it is: its LBA and sequence number, repeated over the whole 4 KiB. */
export function stampBlock(buf: Buffer, lba: number, seq: number): Buffer {
  for (let at = 0; at < BLOCK; at += 16) {
    buf.writeUInt32BE(MAGIC, at);
    buf.writeUInt32BE(lba, at + 4);
    buf.writeDoubleBE(seq, at + 8);
  }
  return buf;
}

/** The sequence number a block holds (0 for a never-written block); throws on a torn or foreign block. */
export function stampedSeq(buf: Buffer, lba: number): number {
  if (buf.every((b) => b === 0)) return 0;
  const seq = buf.readDoubleBE(8);
  for (let at = 0; at < BLOCK; at += 16) {
    if (buf.readUInt32BE(at) !== MAGIC || buf.readUInt32BE(at + 4) !== lba || buf.readDoubleBE(at + 8) !== seq) throw new Error(`block ${lba} is torn or foreign at byte ${at}`);
  }
  return seq;
}

export interface VerifierOptions {
  /** Bytes of the device the load covers (from LBA 0). */
  spanBytes: number;
  policy?: PathPolicy;
  writers?: number;
  /** One write in this many is read back at once. Default 4. */
  readBackEvery?: number;
  /** The LU's logical block size (the test blocks are 4 KiB). Default 512. */
  sectorBytes?: number;
  /** Passed to the MultipathDevice (I/O deadline, timeouts, reconnect). */
  multipath?: MultipathOptions;
}

export class MpioVerifier {
  /** Last acknowledged sequence number per 4 KiB block (0: never acknowledged). */
  readonly acked: Float64Array;
  readonly problems: string[] = [];
  /** Initiator failover times (command re-issued on another path), in ms. */
  readonly failovers: number[] = [];
  writes = 0;
  reads = 0;
  failedWrites = 0;
  private seq = 0;
  private running: Promise<void> | null = null;
  private stopping = false;
  private readonly blocks: number;
  private readonly sectors: number;

  private constructor(
    readonly mp: MultipathDevice,
    private readonly options: Required<Omit<VerifierOptions, 'multipath' | 'policy'>>,
  ) {
    this.blocks = Math.floor(options.spanBytes / BLOCK);
    this.sectors = BLOCK / options.sectorBytes;
    this.acked = new Float64Array(this.blocks);
    mp.on('failover', (e: { elapsedMs: number }) => this.failovers.push(e.elapsedMs));
  }

  static async open(urls: string[], options: VerifierOptions): Promise<MpioVerifier> {
    const mp = await MultipathDevice.open(urls, {
      policy: options.policy ?? 'least-queue-depth',
      ioDeadlineMs: 20_000,
      commandTimeoutMs: 5000,
      reconnectMaxMs: 1000,
      ...options.multipath,
    });
    return new MpioVerifier(mp, { spanBytes: options.spanBytes, writers: options.writers ?? 8, readBackEvery: options.readBackEvery ?? 4, sectorBytes: options.sectorBytes ?? 512 });
  }

  /** Starts the writers in the background (until stop()). */
  start(): void {
    if (this.running) throw new Error('the verifier is already running');
    this.stopping = false;
    this.running = Promise.all(Array.from({ length: this.options.writers }, (_, w) => this.writer(w))).then(() => undefined);
  }

  private async writer(w: number): Promise<void> {
    const writers = this.options.writers;
    const perWriter = Math.floor(this.blocks / writers);
    const buf = Buffer.alloc(BLOCK);
    const check = Buffer.alloc(BLOCK);
    for (let i = 0; !this.stopping; i++) {
      const lba = ((i * 7919 + w * 131) % perWriter) * writers + w;
      const s = ++this.seq;
      try {
        await this.mp.write(lba * this.sectors, stampBlock(buf, lba, s));
      } catch {
        this.failedWrites++;
        // An unacknowledged write may have landed anywhere: this LBA's later reads may show it (newer is allowed).
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.acked[lba] = s;
      this.writes++;
      if (i % this.options.readBackEvery === 0) await this.readBack(lba, check);
    }
  }

  private async readBack(lba: number, into: Buffer): Promise<void> {
    try {
      const back = stampedSeq(await this.mp.read(lba * this.sectors, this.sectors, into), lba);
      this.reads++;
      if (back < this.acked[lba]) this.problems.push(`LBA ${lba}: read ${back} after write ${this.acked[lba]} was acknowledged`);
    } catch (error) {
      this.problems.push(`LBA ${lba}: read failed: ${(error as Error).message}`);
    }
  }

  /** Resolves once `count` more writes were acknowledged (bounded by timeoutMs). */
  async moreWrites(count: number, what: string, timeoutMs = 20_000): Promise<void> {
    const target = this.writes + count;
    await until(() => this.writes >= target, `${count} acknowledged writes ${what}`, timeoutMs, 5);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = null;
  }

  /** Reads every acknowledged block back (the writers stopped): none may be older than its acknowledged write. */
  async checkAll(): Promise<void> {
    if (this.running) throw new Error('stop the writers before checkAll');
    const buf = Buffer.alloc(BLOCK);
    for (let lba = 0; lba < this.blocks; lba++) {
      if (this.acked[lba] === 0) continue;
      try {
        const got = stampedSeq(await this.mp.read(lba * this.sectors, this.sectors, buf), lba);
        if (got < this.acked[lba]) this.problems.push(`LBA ${lba}: ${got} < acknowledged ${this.acked[lba]}`);
      } catch (error) {
        this.problems.push(`LBA ${lba}: read failed: ${(error as Error).message}`);
      }
    }
  }

  summary(): string {
    return `${this.writes} writes acknowledged, ${this.failedWrites} failed (unacknowledged), ${this.reads} read-backs, ${this.problems.length} problems`;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.running?.catch(() => undefined);
    this.running = null;
    await this.mp.close().catch(() => undefined);
  }
}

/**
 * Ends a fault scenario's load: stops the writers, reads every acknowledged block back through MPIO, prints what
 * the verifier did, and expects no problem and no failed write; closes the verifier.
 */
export async function finishVerifiedLoad(v: MpioVerifier, title: string): Promise<void> {
  await v.stop();
  await v.checkAll();
  process.stdout.write(`${title}: verifier ${v.summary()}\n`);
  expect(v.problems).toEqual([]);
  expect(v.failedWrites).toBe(0);
  await v.close();
}

/** Stops the nodes and expects every other image to be byte-identical to the first (`qemu-img compare`). */
export async function expectIdenticalImages(nodes: { image: string; name: string }[], stop: () => Promise<unknown>): Promise<void> {
  await stop();
  for (const other of nodes.slice(1)) {
    const r = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', nodes[0].image, other.image], { timeoutMs: 60_000 });
    expect(`${other.name}: ${r.stdout}`).toMatch(/Images are identical/);
  }
}
