import { crc32c } from '@node-rs/crc32';
import { dataBuffers } from '@tandem/storage';
import { randomBytes } from 'crypto';
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_VERSION,
  FrameDecoder,
  FrameError,
  FrameFlag,
  FrameType,
  encodeFrameHeader,
  type FrameHeader,
} from './frame';

interface Decoded {
  header: FrameHeader;
  payload: Buffer;
}

function encode(type: number, flags: number, requestId: number, position: number, aux: number, payload?: Buffer): Buffer {
  const header = encodeFrameHeader(Buffer.alloc(FRAME_HEADER_BYTES), type, flags, requestId, position, aux, payload);
  return payload ? Buffer.concat([header, payload]) : header;
}

function collector(maxPayloadBytes = 1 << 20): { decoder: FrameDecoder; frames: Decoded[] } {
  const frames: Decoded[] = [];
  const decoder = new FrameDecoder((header, payload) => frames.push({ header: { ...header }, payload: Buffer.from(payload) }), maxPayloadBytes);
  return { decoder, frames };
}

/** Deterministic PRNG so a failing fuzz case can be replayed. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const sample = [
  encode(FrameType.Hello, 0, 0, 0, 0, Buffer.from('{"node":"a"}')),
  encode(FrameType.Write, FrameFlag.Fua, 2 ** 53 - 1, 2 ** 40 + 4096, 0xffff_ffff, randomBytes(4096)),
  encode(FrameType.Ping, 0, 7, 0, 0),
  encode(FrameType.Reply, FrameFlag.Error, 9, 0, 42, Buffer.from([1, 2, 3])),
];
const sampleStream = Buffer.concat(sample);

describe('frame header layout', () => {
  it('writes the documented fields big endian and a CRC32C over header and payload', () => {
    const payload = Buffer.from('abc');
    const out = Buffer.alloc(FRAME_HEADER_BYTES);
    const header = encodeFrameHeader(out, FrameType.Write, FrameFlag.Fua, 0x1_0000_0002, 0x2_0000_0003, 0xdeadbeef, payload);
    expect(header).toBe(out);
    expect(header.readUInt32BE(0)).toBe(FRAME_MAGIC);
    expect(header.toString('latin1', 0, 4)).toBe('TDSY');
    expect(header[4]).toBe(FRAME_VERSION);
    expect(header[5]).toBe(FrameType.Write);
    expect(header.readUInt16BE(6)).toBe(FrameFlag.Fua);
    expect(header.readBigUInt64BE(8)).toBe(0x1_0000_0002n);
    expect(header.readBigUInt64BE(16)).toBe(0x2_0000_0003n);
    expect(header.readUInt32BE(24)).toBe(3);
    expect(header.readUInt32BE(28)).toBe(0xdeadbeef);
    expect(header.readUInt32BE(32)).toBe(0);
    expect(header.readUInt32BE(36)).toBe(crc32c(Buffer.concat([header.subarray(0, 36), payload])));
  });

  it('checksums only the given payload slice and returns a 40-byte view of a larger buffer', () => {
    const big = Buffer.from('xxhelloyy');
    const out = Buffer.alloc(64, 0xee);
    const header = encodeFrameHeader(out, FrameType.ResyncData, 0, 1, 2, 3, big, 2, 5);
    expect(header.length).toBe(FRAME_HEADER_BYTES);
    expect(out[40]).toBe(0xee);
    const { decoder, frames } = collector();
    decoder.push(Buffer.concat([header, big.subarray(2, 7)]));
    expect(frames[0].payload.toString()).toBe('hello');
    expect(frames[0].header).toEqual({ type: FrameType.ResyncData, flags: 0, requestId: 1, position: 2, payloadLength: 5, aux: 3 });
  });

  it('refuses fields that do not fit', () => {
    const out = Buffer.alloc(FRAME_HEADER_BYTES);
    expect(() => encodeFrameHeader(Buffer.alloc(39), 1, 0, 0, 0, 0)).toThrow(RangeError);
    expect(() => encodeFrameHeader(out, 256, 0, 0, 0, 0)).toThrow(RangeError);
    expect(() => encodeFrameHeader(out, 1, 0x10000, 0, 0, 0)).toThrow(RangeError);
    expect(() => encodeFrameHeader(out, 1, 0, 2 ** 53, 0, 0)).toThrow(RangeError);
    expect(() => encodeFrameHeader(out, 1, 0, 0, -1, 0)).toThrow(RangeError);
    expect(() => encodeFrameHeader(out, 1, 0, 0, 0, 2 ** 32)).toThrow(RangeError);
    expect(() => encodeFrameHeader(out, 1, 0, 0, 0, 0, Buffer.alloc(4), 2, 3)).toThrow(RangeError);
  });
});

describe('FrameDecoder', () => {
  it('round-trips frames of every shape', () => {
    const { decoder, frames } = collector();
    decoder.push(sampleStream);
    expect(frames).toHaveLength(4);
    expect(frames[0].header).toEqual({ type: FrameType.Hello, flags: 0, requestId: 0, position: 0, payloadLength: 12, aux: 0 });
    expect(frames[0].payload.toString()).toBe('{"node":"a"}');
    expect(frames[1].header).toEqual({ type: FrameType.Write, flags: FrameFlag.Fua, requestId: 2 ** 53 - 1, position: 2 ** 40 + 4096, payloadLength: 4096, aux: 0xffff_ffff });
    expect(frames[1].payload.equals(sample[1].subarray(FRAME_HEADER_BYTES))).toBe(true);
    expect(frames[2].payload.length).toBe(0);
    expect(frames[3].header.flags).toBe(FrameFlag.Error);
    expect([...frames[3].payload]).toEqual([1, 2, 3]);
  });

  it('copies every payload out of the chunk (the socket reuses it) into pooled memory, and reuses the header object', () => {
    const seen: { header: FrameHeader; payload: Buffer }[] = [];
    const decoder = new FrameDecoder((header, payload) => seen.push({ header, payload }), 1 << 20);
    const chunk = Buffer.from(sampleStream);
    decoder.push(chunk);
    const payload = Buffer.from(seen[1].payload);
    chunk.fill(0xee); // the next read lands in the same memory
    expect(seen[1].payload.equals(payload)).toBe(true);
    expect(seen[1].payload.buffer).not.toBe(chunk.buffer);
    // Given back, the memory is what the next payload of that size class (the next Hello's) receives.
    dataBuffers.give(seen[1].payload);
    decoder.push(sampleStream);
    expect(seen[4].payload.buffer).toBe(seen[1].payload.buffer);
    expect(seen[0].header).toBe(seen[1].header);
  });

  it('assembles a large payload written straight into its memory (directTarget + pushed), mixed with pushed chunks', () => {
    const big = randomBytes(300 * 1024);
    const stream = Buffer.concat([encode(FrameType.ResyncData, 0, 5, 1 << 20, 0, big), sample[2], encode(FrameType.Write, 0, 6, 0, 0, big)]);
    for (const seed of [1, 2, 3]) {
      const next = xorshift(seed);
      const { decoder, frames } = collector();
      let at = 0;
      while (at < stream.length) {
        // A socket read: straight into the payload when the decoder offers it, else a chunk to push.
        const target = decoder.directTarget(64 * 1024);
        const room = target ? target.length : 1 + Math.floor(next() * 100_000);
        const n = Math.min(room, stream.length - at, 1 + Math.floor(next() * 200_000));
        if (target) {
          stream.copy(target, 0, at, at + n);
          decoder.pushed(n);
        } else decoder.push(stream.subarray(at, at + n));
        at += n;
      }
      expect(frames.map((f) => f.header.type)).toEqual([FrameType.ResyncData, FrameType.Ping, FrameType.Write]);
      expect(frames[0].payload.equals(big) && frames[2].payload.equals(big)).toBe(true);
    }
    // Under the threshold, or between frames, there is nothing to read into.
    const { decoder } = collector();
    expect(decoder.directTarget(0)).toBeNull();
    decoder.push(stream.subarray(0, FRAME_HEADER_BYTES + big.length - 1000));
    expect(decoder.directTarget(64 * 1024)).toBeNull();
    expect(decoder.directTarget(1000)?.length).toBe(1000);
  });

  it('checks the checksum of a payload read straight into memory, and refuses bytes it did not offer room for', () => {
    const big = randomBytes(128 * 1024);
    const frame = encode(FrameType.Write, 0, 1, 0, 0, big);
    frame[FRAME_HEADER_BYTES + 70_000] ^= 1;
    const { decoder, frames } = collector();
    decoder.push(frame.subarray(0, FRAME_HEADER_BYTES + 10));
    const target = decoder.directTarget(64 * 1024)!;
    frame.copy(target, 0, FRAME_HEADER_BYTES + 10);
    expect(() => decoder.pushed(target.length)).toThrow(/checksum mismatch/);
    expect(frames).toHaveLength(0);

    const other = collector();
    other.decoder.push(frame.subarray(0, FRAME_HEADER_BYTES + 10));
    expect(() => other.decoder.pushed(big.length)).toThrow(FrameError); // more than the payload has left
    expect(() => collector().decoder.pushed(1)).toThrow(FrameError); // no payload being assembled
  });

  it('decodes the same frames when the stream is split at every byte boundary', () => {
    for (let cut = 0; cut <= sampleStream.length; cut++) {
      const { decoder, frames } = collector();
      decoder.push(sampleStream.subarray(0, cut));
      decoder.push(sampleStream.subarray(cut));
      expect(frames).toHaveLength(4);
      expect(frames[1].payload.equals(sample[1].subarray(FRAME_HEADER_BYTES))).toBe(true);
      expect(frames[3].header.aux).toBe(42);
    }
  });

  it('decodes a stream fed one byte at a time and in random pieces', () => {
    const one = collector();
    for (let i = 0; i < sampleStream.length; i++) one.decoder.push(sampleStream.subarray(i, i + 1));
    expect(one.frames.map((f) => f.header.type)).toEqual([FrameType.Hello, FrameType.Write, FrameType.Ping, FrameType.Reply]);
    const random = xorshift(7);
    for (let round = 0; round < 50; round++) {
      const { decoder, frames } = collector();
      let at = 0;
      while (at < sampleStream.length) {
        const n = 1 + Math.floor(random() * 300);
        decoder.push(sampleStream.subarray(at, at + n));
        at += n;
      }
      expect(frames).toHaveLength(4);
      expect(frames[1].payload.equals(sample[1].subarray(FRAME_HEADER_BYTES))).toBe(true);
    }
  });

  it('decodes many frames from one chunk', () => {
    const many: Buffer[] = [];
    for (let i = 0; i < 1000; i++) many.push(encode(FrameType.Write, 0, i, i * 512, i, Buffer.alloc(i % 7, i & 0xff)));
    const { decoder, frames } = collector();
    decoder.push(Buffer.concat(many));
    expect(frames).toHaveLength(1000);
    frames.forEach((f, i) => {
      expect(f.header.requestId).toBe(i);
      expect(f.header.position).toBe(i * 512);
      expect(f.payload.length).toBe(i % 7);
    });
  });

  it('throws FrameError when any single byte of header or payload is corrupted', () => {
    const frame = encode(FrameType.Write, 0, 5, 8192, 1, randomBytes(300));
    // Trailing zeros make sure a corrupted (but allowed) length still reaches the checksum check.
    const padding = Buffer.alloc(4096 + FRAME_HEADER_BYTES);
    for (let i = 0; i < frame.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const corrupt = Buffer.from(frame);
        corrupt[i] ^= mask;
        const { decoder, frames } = collector(4096);
        expect(() => {
          decoder.push(corrupt);
          decoder.push(padding);
        }).toThrow(FrameError);
        expect(frames).toHaveLength(0);
      }
    }
  });

  it('refuses an oversized length from the header alone, before buffering the payload', () => {
    const frame = encode(FrameType.Write, 0, 1, 0, 0, Buffer.alloc(5000));
    const { decoder, frames } = collector(4096);
    expect(() => decoder.push(frame.subarray(0, FRAME_HEADER_BYTES))).toThrow(/exceeds the 4096-byte limit/);
    expect(frames).toHaveLength(0);
    expect(() => decoder.push(frame.subarray(FRAME_HEADER_BYTES))).toThrow(FrameError);
  });

  it('is unusable after an error, including one thrown by onFrame', () => {
    const decoder = new FrameDecoder(() => {
      throw new Error('handler failed');
    }, 1024);
    expect(() => decoder.push(sample[2])).toThrow('handler failed');
    expect(() => decoder.push(sample[2])).toThrow(FrameError);
  });

  it('names bad magic and version', () => {
    const badMagic = Buffer.from(sample[2]);
    badMagic[0] = 0;
    expect(() => collector().decoder.push(badMagic)).toThrow(/magic/);
    const badVersion = Buffer.from(sample[2]);
    badVersion[4] = 2;
    expect(() => collector().decoder.push(badVersion)).toThrow(/version 2/);
  });

  it('survives random garbage with nothing but FrameError (fuzz)', () => {
    const random = xorshift(12345);
    const valid = Buffer.concat(sample);
    let errors = 0;
    let framesSeen = 0;
    for (let iteration = 0; iteration < 10_000; iteration++) {
      const decoder = new FrameDecoder(() => framesSeen++, 2048);
      // Half the inputs start as valid frames with random damage, so the fuzz also reaches the checksum and payload paths.
      let input: Buffer;
      if (iteration % 2 === 0) {
        input = randomBytesFrom(random, 1 + Math.floor(random() * 200));
        if (random() < 0.5) {
          input.writeUInt32BE(FRAME_MAGIC, 0);
          input[4] = FRAME_VERSION;
        }
      } else {
        input = Buffer.from(valid.subarray(0, 1 + Math.floor(random() * valid.length)));
        const flips = Math.floor(random() * 4);
        for (let f = 0; f < flips; f++) input[Math.floor(random() * input.length)] ^= 1 + Math.floor(random() * 255);
      }
      try {
        let at = 0;
        while (at < input.length) {
          const n = 1 + Math.floor(random() * 64);
          decoder.push(input.subarray(at, at + n));
          at += n;
        }
      } catch (err) {
        expect(err).toBeInstanceOf(FrameError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(1000);
    expect(framesSeen).toBeGreaterThan(0);
  });
});

function randomBytesFrom(random: () => number, length: number): Buffer {
  const b = Buffer.alloc(Math.max(length, 8));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(random() * 256);
  return b;
}
