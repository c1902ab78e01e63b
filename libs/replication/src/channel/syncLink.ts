/**
 * One TCP connection of the sync channel: frames out (header then payload, no copy of the payload; corked per
 * tick so a burst leaves in few segments), frames in through the decoder (fed by `receive`: the socket reads into a
 * buffer of its own, see socketReads), and its own liveness: a Ping every
 * `pingIntervalMs`, the link declared dead when nothing at all arrived for `deadAfterMs` (a cut cable sends no
 * RST), or at once on a socket error or close.
 */
import type { Socket } from 'net';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameType, encodeFrameHeader, type FrameHeader } from '../protocol/frame';
import type { BucketHistogram } from '../stats/bucketHistogram';

export interface SyncLinkOptions {
  pingIntervalMs: number;
  deadAfterMs: number;
  maxPayloadBytes: number;
}

export class SyncLink {
  private readonly decoder: FrameDecoder;
  /** When the last frame arrived (any frame, pings included). */
  lastHeard = Date.now();
  /** The link was declared dead for silence (not closed or reset by the other side). */
  silent = false;
  private timer: NodeJS.Timeout;
  private corked = false;
  private closed = false;
  /** Requests sent on this link and not yet answered (the channel spreads load by this). */
  inFlight = 0;
  /** Round-trip time of the last ping answered, in microseconds (−1 before the first). */
  rttMicros = -1;
  /** Every answered ping's round trip goes here too (set by the channel: it outlives reconnects). */
  rttHistogram: BucketHistogram | null = null;
  private pingSentAt = 0n;
  /** Smallest round trip since the last `takeRttFloor` (−1: none yet). */
  private rttFloor = -1;

  constructor(
    readonly socket: Socket,
    readonly index: number,
    private readonly options: SyncLinkOptions,
    private readonly onFrame: (link: SyncLink, header: FrameHeader, payload: Buffer) => void,
    private readonly onClose: (link: SyncLink, reason: string) => void,
  ) {
    socket.setNoDelay(true);
    this.decoder = new FrameDecoder((h, p) => {
      this.lastHeard = Date.now();
      if (h.type === FrameType.Ping) {
        if (h.flags & PONG) {
          this.rttMicros = Number((process.hrtime.bigint() - this.pingSentAt) / 1000n);
          if (this.rttFloor < 0 || this.rttMicros < this.rttFloor) this.rttFloor = this.rttMicros;
          this.rttHistogram?.observe(this.rttMicros / 1e6);
        } else {
          this.send(FrameType.Ping, PONG, h.requestId, 0, 0);
        }
        return;
      }
      this.onFrame(this, h, p);
    }, options.maxPayloadBytes);
    socket.on('error', (error) => this.close(error.message));
    socket.on('close', () => this.close('connection closed'));
    this.timer = setInterval(() => this.tick(), options.pingIntervalMs);
    this.timer.unref();
  }

  /**
   * The smallest round trip since the last call (the last one when none came since), and starts a new window: the
   * link's latency without the scheduling noise of a busy host, which only ever adds to a ping's time.
   */
  takeRttFloor(): number {
    const floor = this.rttFloor >= 0 ? this.rttFloor : this.rttMicros;
    this.rttFloor = -1;
    return floor;
  }

  /** Bytes from the socket (whoever owns its reads routes them here); `chunk` is valid only during the call. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.decoder.push(chunk);
    } catch (error) {
      this.close(`bad frame: ${(error as Error).message}`);
    }
  }

  /** Where the socket may read next, straight into a large payload being assembled (see ReadRoute.direct). */
  directTarget(): Buffer | null {
    return this.closed ? null : this.decoder.directTarget(DIRECT_READ_MIN_BYTES);
  }

  /** `n` bytes landed in the memory `directTarget` gave. */
  receiveDirect(n: number): void {
    if (this.closed) return;
    try {
      this.decoder.pushed(n);
    } catch (error) {
      this.close(`bad frame: ${(error as Error).message}`);
    }
  }

  get alive(): boolean {
    return !this.closed;
  }

  private tick(): void {
    if (Date.now() - this.lastHeard > this.options.deadAfterMs) {
      this.silent = true;
      this.close(`nothing heard for ${this.options.deadAfterMs} ms`);
      return;
    }
    this.pingSentAt = process.hrtime.bigint();
    this.send(FrameType.Ping, 0, 0, 0, 0);
  }

  /** Sends one frame; the payload slice is written as is (the caller keeps it unchanged until the reply). */
  send(type: number, flags: number, requestId: number, position: number, aux: number, payload?: Buffer, offset = 0, length = payload ? payload.length - offset : 0): void {
    if (this.closed) return;
    const header = encodeFrameHeader(Buffer.allocUnsafe(FRAME_HEADER_BYTES), type, flags, requestId, position, aux, payload, offset, length);
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(header);
    if (payload && length > 0) this.socket.write(offset === 0 && length === payload.length ? payload : payload.subarray(offset, offset + length));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.socket.destroy();
    this.onClose(this, reason);
  }
}

/** A payload read straight from the socket when at least this much of it is still to come (else one shared read buffer). */
const DIRECT_READ_MIN_BYTES = 64 * 1024;

/** Flag on a Ping frame that answers one. */
export const PONG = 0x8000;
