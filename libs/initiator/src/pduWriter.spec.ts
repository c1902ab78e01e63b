import { EventEmitter } from 'events';
import type { Socket } from 'net';
import { DataDestination, PduReader, PduSink } from '@tandem/iscsi';
import { PduWriter } from './pduWriter';

/** Records what a socket would get, one entry per corked batch. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  batches: Buffer[][] = [];
  private corked = 0;
  private current: Buffer[] = [];
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    this.corked--;
    this.batches.push(this.current);
    this.current = [];
  }
  write(b: Buffer): boolean {
    if (this.corked) this.current.push(Buffer.from(b));
    else this.batches.push([Buffer.from(b)]);
    return true;
  }
}

class Collect implements PduSink {
  pdus: Array<{ opcode: number; itt: number; data: Buffer; ok: boolean }> = [];
  onHeader(): DataDestination | null {
    return null;
  }
  onPdu(h: Buffer, data: Buffer, off: number, len: number, ok: boolean): void {
    this.pdus.push({ opcode: h[0] & 0x3f, itt: h.readUInt32BE(16), data: Buffer.from(data.subarray(off, off + len)), ok });
  }
}

function queue(w: PduWriter, itt: number, data: Buffer | null, offset = 0, length = data ? data.length - offset : 0): void {
  const at = w.begin();
  w.buffer[at] = 0x05;
  w.buffer.writeUInt32BE(itt, at + 16);
  w.commit(at, data, offset, length);
}

describe('PduWriter', () => {
  it.each([[false, false], [true, true], [true, false]])('batches a tick of PDUs into one write (header digest %s, data digest %s)', async (hd, dd) => {
    const socket = new FakeSocket();
    const w = new PduWriter(socket as unknown as Socket);
    w.headerDigest = hd;
    w.dataDigest = dd;
    const payload = Buffer.from('0123456789abcdefghij'); // 20 bytes; slices of odd length need padding
    queue(w, 1, null);
    queue(w, 2, payload, 3, 5);
    queue(w, 3, payload);
    queue(w, 4, null);
    expect(socket.batches).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    expect(socket.batches).toHaveLength(1);
    const stream = Buffer.concat(socket.batches[0]);
    expect(w.bytesWritten).toBe(stream.length);
    const sink = new Collect();
    const reader = new PduReader(sink);
    reader.headerDigest = hd;
    reader.dataDigest = dd;
    reader.push(stream);
    expect(sink.pdus.map((p) => [p.itt, p.data.toString(), p.ok])).toEqual([[1, '', true], [2, '34567', true], [3, payload.toString(), true], [4, '', true]]);
  });

  it('survives filling its header arena within one batch', async () => {
    const socket = new FakeSocket();
    const w = new PduWriter(socket as unknown as Socket);
    w.headerDigest = true;
    const data = Buffer.alloc(7, 1);
    for (let i = 0; i < 3000; i++) queue(w, i, data); // ~180 KiB of headers: several arenas
    await new Promise((r) => setImmediate(r));
    const sink = new Collect();
    const reader = new PduReader(sink);
    reader.headerDigest = true;
    reader.push(Buffer.concat(socket.batches.flat()));
    expect(sink.pdus).toHaveLength(3000);
    expect(sink.pdus.every((p, i) => p.itt === i && p.data.equals(data))).toBe(true);
  });
});
