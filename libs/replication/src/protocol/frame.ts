/**
 * The sync channel's binary frames: partners mirror writes over direct TCP, one 40-byte header (big endian)
 * followed by the payload.
 *
 * | offset | size | field                                                        |
 * |-------:|-----:|--------------------------------------------------------------|
 * |      0 |    4 | magic 0x54445359 ('TDSY')                                    |
 * |      4 |    1 | version (1)                                                  |
 * |      5 |    1 | type (FrameType)                                             |
 * |      6 |    2 | flags (FrameFlag bits)                                       |
 * |      8 |    8 | requestId (u64, JS safe integer)                             |
 * |     16 |    8 | position (u64 byte offset, JS safe integer)                  |
 * |     24 |    4 | payloadLength                                                |
 * |     28 |    4 | aux (meaning per type)                                       |
 * |     32 |    4 | reserved, zero                                               |
 * |     36 |    4 | CRC32C over bytes [0,36) continued over the payload          |
 */
import { crc32c, dataBuffers } from '@tandem/storage';

export const FRAME_MAGIC = 0x54445359; // 'TDSY'
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 40;

export const FrameType = {
  Hello: 1,
  HelloReply: 2,
  Write: 3,
  Discard: 4,
  Flush: 5,
  Lock: 6,
  Unlock: 7,
  PrApply: 8,
  State: 9,
  Ping: 10,
  ResyncData: 11,
  Reply: 12,
  Bye: 13,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/**
 * Fua: durable before the reply. Error: the reply carries an error message. AlsoThird (Write/Discard): the sender's
 * other partner receives this write too — without it, the receiver records the regions as missing there.
 */
export const FrameFlag = { Fua: 1, Error: 2, AlsoThird: 4 } as const;

export interface FrameHeader {
  type: number;
  flags: number;
  requestId: number;
  position: number;
  payloadLength: number;
  aux: number;
}

/** The stream cannot be trusted any more (bad magic, version, checksum or length): close the connection. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const CHECKSUMMED_HEADER_BYTES = 36;
const TWO_POW_32 = 0x1_0000_0000;
/** The high word of a u64 that is still a JS safe integer (< 2^53). */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;
const EMPTY_PAYLOAD = Buffer.alloc(0);
// Bound once: global lookups are slow inside vm contexts (jest), and these run per frame.
const floor = Math.floor;
const min = Math.min;
const isSafeInteger = Number.isSafeInteger;

/** Fields are assembled here and checksummed before being copied out, so encoding allocates no subarray view. */
const encodeScratch = Buffer.alloc(CHECKSUMMED_HEADER_BYTES);

/**
 * Encodes the 40-byte header for a frame whose payload is payload[offset, offset+length) (payload may be absent →
 * length 0) into `out` at 0 and returns it (`out` itself when it is exactly 40 bytes long, else a 40-byte view).
 * The caller writes the header then the payload slice: the payload is never copied. The checksum is CRC32C over
 * header bytes [0,36) continued over the payload bytes, stored at [36,40).
 */
export function encodeFrameHeader(
  out: Buffer,
  type: number,
  flags: number,
  requestId: number,
  position: number,
  aux: number,
  payload?: Buffer,
  payloadOffset = 0,
  payloadLength?: number,
): Buffer {
  const length = payload === undefined ? 0 : payloadLength ?? payload.length - payloadOffset;
  if (out.length < FRAME_HEADER_BYTES) throw new RangeError(`frame header needs ${FRAME_HEADER_BYTES} bytes, got ${out.length}`);
  if (!(type >= 0 && type <= 0xff && (type | 0) === type)) throw new RangeError(`frame type ${type} is not a u8`);
  if (!(flags >= 0 && flags <= 0xffff && (flags | 0) === flags)) throw new RangeError(`frame flags ${flags} are not a u16`);
  if (!(aux >= 0 && aux <= 0xffff_ffff && floor(aux) === aux)) throw new RangeError(`frame aux ${aux} is not a u32`);
  if (!(isSafeInteger(requestId) && requestId >= 0)) throw new RangeError(`requestId ${requestId} is not a safe non-negative integer`);
  if (!(isSafeInteger(position) && position >= 0)) throw new RangeError(`position ${position} is not a safe non-negative integer`);
  if (payload !== undefined && !(payloadOffset >= 0 && length >= 0 && payloadOffset + length <= payload.length && length <= 0xffff_ffff)) {
    throw new RangeError(`payload slice [${payloadOffset}, ${payloadOffset + length}) is outside a ${payload.length}-byte buffer`);
  }

  const h = encodeScratch;
  h.writeUInt32BE(FRAME_MAGIC, 0);
  h[4] = FRAME_VERSION;
  h[5] = type;
  h.writeUInt16BE(flags, 6);
  h.writeUInt32BE(floor(requestId / TWO_POW_32), 8);
  h.writeUInt32BE(requestId >>> 0, 12);
  h.writeUInt32BE(floor(position / TWO_POW_32), 16);
  h.writeUInt32BE(position >>> 0, 20);
  h.writeUInt32BE(length, 24);
  h.writeUInt32BE(aux, 28);
  h.writeUInt32BE(0, 32);
  let crc = crc32c(h);
  if (length > 0) {
    // A whole-buffer payload is checksummed as is; only a true slice needs a view.
    const whole = payloadOffset === 0 && length === payload!.length;
    crc = crc32c(whole ? payload! : payload!.subarray(payloadOffset, payloadOffset + length), crc);
  }
  out.set(h, 0);
  out.writeUInt32BE(crc, CHECKSUMMED_HEADER_BYTES);
  return out.length === FRAME_HEADER_BYTES ? out : out.subarray(0, FRAME_HEADER_BYTES);
}

/**
 * Incremental decoder over a TCP byte stream: push chunks, get whole frames.
 *
 * Chunks are copied from, never kept (a socket may reuse its read buffer). The payload handed to onFrame is a
 * buffer of its own taken from `dataBuffers`: the callee may keep it, and gives it back with `dataBuffers.give` once
 * done with it where that is cheap to know (a mirrored write, once stored); a payload not given back is simply
 * garbage. The FrameHeader object is REUSED between calls (no allocation per frame): copy the fields you need.
 *
 * push throws FrameError on bad magic, version or checksum, or a payloadLength above maxPayloadBytes (detected from
 * the header alone, before any payload is buffered). An exception thrown by onFrame propagates out of push. After
 * any throw the decoder is unusable (the rest of the stream cannot be framed): close the connection.
 */
export class FrameDecoder {
  private readonly header: FrameHeader = { type: 0, flags: 0, requestId: 0, position: 0, payloadLength: 0, aux: 0 };
  private readonly headerBytes = Buffer.alloc(FRAME_HEADER_BYTES);
  private readonly checksummedHeader = this.headerBytes.subarray(0, CHECKSUMMED_HEADER_BYTES);
  private headerFill = 0;
  /** The payload being assembled across chunks, or null while reading a header. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  /** CRC32C of the current frame's header bytes, to be continued over its payload. */
  private headerCrc = 0;
  private expectedCrc = 0;
  private failed = false;

  constructor(
    private readonly onFrame: (header: FrameHeader, payload: Buffer) => void,
    private readonly maxPayloadBytes: number,
  ) {
    if (!(maxPayloadBytes >= 0 && maxPayloadBytes <= 0xffff_ffff)) throw new RangeError(`maxPayloadBytes ${maxPayloadBytes} out of range`);
  }

  push(chunk: Buffer): void {
    if (this.failed) throw new FrameError('frame decoder already failed; the connection must be closed');
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      if (this.partial === null) {
        // Header bytes are copied one by one: 40 bytes, and no view object is created.
        const hb = this.headerBytes;
        let fill = this.headerFill;
        while (fill < FRAME_HEADER_BYTES && offset < end) hb[fill++] = chunk[offset++];
        if (fill < FRAME_HEADER_BYTES) {
          this.headerFill = fill;
          return;
        }
        this.headerFill = 0;
        const length = this.parseHeader();
        if (length === 0) {
          this.deliver(EMPTY_PAYLOAD, this.headerCrc);
        } else {
          // Always a buffer of its own, from the pool: the chunk is reused by the socket's next read.
          this.partial = dataBuffers.take(length);
          this.partialFill = 0;
        }
        continue;
      }
      const partial = this.partial;
      const take = min(partial.length - this.partialFill, end - offset);
      chunk.copy(partial, this.partialFill, offset, offset + take);
      this.partialFill += take;
      offset += take;
      if (this.partialFill < partial.length) return;
      this.payloadComplete(partial);
    }
  }

  /**
   * The unfilled rest of the payload being assembled, when at least `minBytes` remain: a socket may read straight
   * into it (then report the bytes with `pushed`), saving the copy `push` makes. Null otherwise.
   */
  directTarget(minBytes: number): Buffer | null {
    const partial = this.partial;
    if (partial === null || this.failed || partial.length - this.partialFill < minBytes) return null;
    return partial.subarray(this.partialFill);
  }

  /** `n` bytes were written into the memory `directTarget` returned (and nothing was pushed since). */
  pushed(n: number): void {
    const partial = this.partial;
    if (this.failed || partial === null || !(n >= 0 && this.partialFill + n <= partial.length)) {
      this.failed = true;
      throw new FrameError('bytes reported into a payload the decoder is not assembling');
    }
    this.partialFill += n;
    if (this.partialFill < partial.length) return;
    this.payloadComplete(partial);
  }

  /** The payload being assembled is whole: check the frame's checksum over it and hand the frame on. */
  private payloadComplete(partial: Buffer): void {
    this.partial = null;
    this.deliver(partial, crc32c(partial, this.headerCrc));
  }

  /** Checks what framing needs (magic, version, length) and fills the reused header; returns payloadLength. */
  private parseHeader(): number {
    const hb = this.headerBytes;
    const magic = hb.readUInt32BE(0);
    if (magic !== FRAME_MAGIC) this.fail(`bad frame magic 0x${magic.toString(16).padStart(8, '0')}`);
    if (hb[4] !== FRAME_VERSION) this.fail(`unsupported frame version ${hb[4]}`);
    const length = hb.readUInt32BE(24);
    if (length > this.maxPayloadBytes) this.fail(`frame payload of ${length} bytes exceeds the ${this.maxPayloadBytes}-byte limit`);
    const h = this.header;
    h.type = hb[5];
    h.flags = hb.readUInt16BE(6);
    h.requestId = hb.readUInt32BE(8) * TWO_POW_32 + hb.readUInt32BE(12);
    h.position = hb.readUInt32BE(16) * TWO_POW_32 + hb.readUInt32BE(20);
    h.payloadLength = length;
    h.aux = hb.readUInt32BE(28);
    this.headerCrc = crc32c(this.checksummedHeader);
    this.expectedCrc = hb.readUInt32BE(CHECKSUMMED_HEADER_BYTES);
    return length;
  }

  private deliver(payload: Buffer, crc: number): void {
    if (crc !== this.expectedCrc) this.fail(`frame checksum mismatch (type ${this.header.type}, request ${this.header.requestId})`);
    // Checked after the checksum, so a corrupted byte reports as corruption rather than as a range error.
    const hb = this.headerBytes;
    if (hb.readUInt32BE(8) > MAX_SAFE_HIGH_WORD || hb.readUInt32BE(16) > MAX_SAFE_HIGH_WORD) this.fail('frame requestId or position beyond 2^53');
    try {
      this.onFrame(this.header, payload);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private fail(message: string): never {
    this.failed = true;
    this.partial = null;
    throw new FrameError(message);
  }
}
