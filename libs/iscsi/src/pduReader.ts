/**
 * Splits a TCP byte stream into iSCSI PDUs: BHS, AHS, header digest, data segment (copied straight into the
 * buffer the sink chooses, e.g. a task's write buffer), padding, data digest. No allocation per PDU for
 * headers; control-PDU data lands in a reusable scratch buffer.
 */
import { crc32c } from '@tandem/storage';
import { BHS_LENGTH, DIGEST_LENGTH } from './constants';

export const MAX_AHS_LENGTH = 1020; // TotalAHSLength is one byte of 4-byte words

export interface DataDestination {
  buffer: Buffer;
  offset: number;
}

export interface PduSink {
  /**
   * A header arrived (digest verified). Return where the data segment goes, or null to receive it
   * in the reader's scratch buffer. Throwing a PduFramingError closes the connection.
   */
  onHeader(header: Buffer, headerLength: number, dataLength: number): DataDestination | null;
  /** A whole PDU arrived. `data` is valid only during the call unless it was the sink's own buffer. */
  onPdu(header: Buffer, data: Buffer, dataOffset: number, dataLength: number, dataDigestOk: boolean): void;
}

export class PduFramingError extends Error {
  constructor(message: string, readonly kind: 'header-digest' | 'too-long' | 'malformed') {
    super(message);
  }
}

const enum State {
  Header,
  Data,
  Padding,
  DataDigest,
}

export class PduReader {
  headerDigest = false;
  dataDigest = false;
  /** Largest data segment accepted; bigger ones are a protocol error (we declared our limit). */
  maxDataLength = 8192;

  private readonly header = Buffer.allocUnsafeSlow(BHS_LENGTH + MAX_AHS_LENGTH + DIGEST_LENGTH);
  private headerFill = 0;
  private headerNeed = BHS_LENGTH;
  private state = State.Header;
  private scratch = Buffer.allocUnsafeSlow(8192 + 4);
  private dest: Buffer = this.scratch;
  private destOffset = 0;
  private dataLength = 0;
  private dataFill = 0;
  private padLeft = 0;
  private crc = 0;
  private readonly digestBytes = Buffer.allocUnsafeSlow(4);
  private digestFill = 0;
  private headerLength = BHS_LENGTH;
  private failed = false;

  constructor(private readonly sink: PduSink) {}

  /** Feeds bytes from the socket. Throws PduFramingError on a stream that cannot be resynchronised. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    let pos = 0;
    const len = chunk.length;
    try {
      while (pos < len) {
        switch (this.state) {
          case State.Header: {
            const n = Math.min(this.headerNeed - this.headerFill, len - pos);
            chunk.copy(this.header, this.headerFill, pos, pos + n);
            this.headerFill += n;
            pos += n;
            if (this.headerFill === BHS_LENGTH && this.headerNeed === BHS_LENGTH) {
              const ahs = this.header[4] * 4;
              this.headerNeed = BHS_LENGTH + ahs + (this.headerDigest ? DIGEST_LENGTH : 0);
            }
            if (this.headerFill === this.headerNeed) this.headerComplete();
            break;
          }
          case State.Data: {
            const n = Math.min(this.dataLength - this.dataFill, len - pos);
            chunk.copy(this.dest, this.destOffset + this.dataFill, pos, pos + n);
            if (this.dataDigest) this.crc = crc32c(chunk.subarray(pos, pos + n), this.crc);
            this.dataFill += n;
            pos += n;
            if (this.dataFill === this.dataLength) this.afterData();
            break;
          }
          case State.Padding: {
            const n = Math.min(this.padLeft, len - pos);
            if (this.dataDigest) this.crc = crc32c(chunk.subarray(pos, pos + n), this.crc);
            this.padLeft -= n;
            pos += n;
            if (this.padLeft === 0) this.afterPadding();
            break;
          }
          case State.DataDigest: {
            const n = Math.min(DIGEST_LENGTH - this.digestFill, len - pos);
            chunk.copy(this.digestBytes, this.digestFill, pos, pos + n);
            this.digestFill += n;
            pos += n;
            if (this.digestFill === DIGEST_LENGTH) this.deliver(this.digestBytes.readUInt32LE(0) === this.crc >>> 0);
            break;
          }
        }
      }
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private headerComplete(): void {
    const ahs = this.header[4] * 4;
    this.headerLength = BHS_LENGTH + ahs;
    if (this.headerDigest) {
      const expected = crc32c(this.header.subarray(0, this.headerLength)) >>> 0;
      if (this.header.readUInt32LE(this.headerLength) !== expected) {
        throw new PduFramingError('header digest error', 'header-digest');
      }
    }
    const dataLength = (this.header[5] << 16) | (this.header[6] << 8) | this.header[7];
    if (dataLength > this.maxDataLength) {
      throw new PduFramingError(`data segment of ${dataLength} bytes exceeds the negotiated ${this.maxDataLength}`, 'too-long');
    }
    this.dataLength = dataLength;
    this.dataFill = 0;
    this.crc = 0;
    const dest = this.sink.onHeader(this.header, this.headerLength, dataLength);
    if (dest) {
      this.dest = dest.buffer;
      this.destOffset = dest.offset;
    } else {
      if (this.scratch.length < dataLength) this.scratch = Buffer.allocUnsafeSlow(dataLength);
      this.dest = this.scratch;
      this.destOffset = 0;
    }
    if (dataLength === 0) this.afterPadding();
    else this.state = State.Data;
  }

  private afterData(): void {
    this.padLeft = (4 - (this.dataLength & 3)) & 3;
    if (this.padLeft > 0) this.state = State.Padding;
    else this.afterPadding();
  }

  private afterPadding(): void {
    if (this.dataDigest && this.dataLength > 0) {
      this.digestFill = 0;
      this.state = State.DataDigest;
    } else {
      this.deliver(true);
    }
  }

  private deliver(dataDigestOk: boolean): void {
    this.state = State.Header;
    this.headerFill = 0;
    this.headerNeed = BHS_LENGTH;
    const dest = this.dest;
    this.dest = this.scratch;
    this.sink.onPdu(this.header, dest, this.destOffset, this.dataLength, dataDigestOk);
  }
}
