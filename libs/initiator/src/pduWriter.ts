/**
 * Outgoing PDUs, batched: headers, padding and digests are written into a shared arena; data segments go by
 * reference. Everything queued during one turn of the event loop reaches the socket as one corked batch (one
 * writev), so a burst of commands costs one system call and no per-PDU header allocation.
 */
import type { Socket } from 'net';
import { crc32c } from '@tandem/storage';
import { BHS_LENGTH, DIGEST_LENGTH } from '@tandem/iscsi';

const ARENA_BYTES = 64 * 1024;
const MAX_PDU_OVERHEAD = BHS_LENGTH + DIGEST_LENGTH + 3 + DIGEST_LENGTH;

export class PduWriter {
  headerDigest = false;
  dataDigest = false;
  /** Bytes handed to the socket so far. */
  bytesWritten = 0;

  private arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private used = 0;
  /** Start of the arena bytes not yet put in `chunks`. */
  private runStart = 0;
  private chunks: Buffer[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly socket: Socket) {}

  /**
   * Reserves a zeroed 48-byte BHS in the arena and returns its offset in `buffer`; fill it, then `commit` it.
   * Nothing else may be queued between the two calls.
   */
  begin(): number {
    if (this.used + MAX_PDU_OVERHEAD > this.arena.length) this.newArena();
    const at = this.used;
    this.arena.fill(0, at, at + BHS_LENGTH);
    return at;
  }

  get buffer(): Buffer {
    return this.arena;
  }

  /** Finishes the PDU begun at `at`: data segment length, header digest, data, padding, data digest. */
  commit(at: number, data: Buffer | null, offset = 0, length = 0): void {
    const a = this.arena;
    a[at + 5] = (length >> 16) & 0xff;
    a[at + 6] = (length >> 8) & 0xff;
    a[at + 7] = length & 0xff;
    this.used = at + BHS_LENGTH;
    if (this.headerDigest) {
      a.writeUInt32LE(crc32c(a.subarray(at, at + BHS_LENGTH)) >>> 0, this.used);
      this.used += DIGEST_LENGTH;
    }
    if (length > 0 && data) {
      const slice = offset === 0 && length === data.length ? data : data.subarray(offset, offset + length);
      this.chunks.push(a.subarray(this.runStart, this.used));
      this.chunks.push(slice);
      this.runStart = this.used;
      const pad = (4 - (length & 3)) & 3;
      if (pad) {
        a.fill(0, this.used, this.used + pad);
        this.used += pad;
      }
      if (this.dataDigest) {
        let crc = crc32c(slice);
        if (pad) crc = crc32c(a.subarray(this.used - pad, this.used), crc);
        a.writeUInt32LE(crc >>> 0, this.used);
        this.used += DIGEST_LENGTH;
      }
    }
    this.schedule();
  }

  /** Writes what is queued now (login, logout: nothing to batch with). */
  flush(): void {
    this.scheduled = false;
    if (this.runStart < this.used) {
      this.chunks.push(this.arena.subarray(this.runStart, this.used));
      this.runStart = this.used;
    }
    const chunks = this.chunks;
    if (chunks.length === 0) return;
    this.chunks = [];
    if (this.closed || this.socket.destroyed) return;
    if (chunks.length === 1) {
      this.bytesWritten += chunks[0].length;
      this.socket.write(chunks[0]);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < chunks.length; i++) {
      this.bytesWritten += chunks[i].length;
      this.socket.write(chunks[i]);
    }
    this.socket.uncork();
  }

  close(): void {
    this.closed = true;
    this.chunks = [];
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(flushWriter, this);
  }

  /** The socket may still hold slices of the old arena: start a new one rather than overwrite it. */
  private newArena(): void {
    if (this.runStart < this.used) this.chunks.push(this.arena.subarray(this.runStart, this.used));
    this.arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
    this.used = 0;
    this.runStart = 0;
  }
}

function flushWriter(w: PduWriter): void {
  w.flush();
}
