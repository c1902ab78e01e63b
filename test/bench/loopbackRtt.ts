// A STAND-IN for the floor of one sync round trip, used by bench:ha only when neither HA node reports its own
// sync-link ping (tandem ha status): a 4 KiB message from this process to a second Node process over loopback TCP
// (Nagle off), answered with 16 bytes — what a mirrored 4 KiB write and its acknowledgement cost the network,
// without any storage or protocol work.
import * as net from 'net';
import { spawnTracked, stopChild } from '@tandem/testing';

const ECHO = `
const net = require('net');
const server = net.createServer((s) => {
  s.setNoDelay(true);
  let have = 0;
  s.on('data', (d) => {
    have += d.length;
    while (have >= ${4096 + 32}) { have -= ${4096 + 32}; s.write(Buffer.alloc(16)); }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

export interface RttFigures {
  samples: number;
  minUs: number;
  p50Us: number;
  p99Us: number;
}

/** `samples` round trips one at a time; figures in µs. */
export async function loopbackRtt(samples = 2000): Promise<RttFigures> {
  const child = spawnTracked(process.execPath, ['-e', ECHO]);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('echo process did not listen within 20 s')), 20_000);
      child.stdout?.setEncoding('utf8').once('data', (d: string) => (clearTimeout(timer), resolve(Number(d.trim()))));
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`echo process exited ${code}`))));
    });
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const message = Buffer.alloc(4096 + 32, 0x5a);
    const times: number[] = [];
    let waiting: (() => void) | undefined;
    let got = 0;
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 16 && waiting) {
        got -= 16;
        const w = waiting;
        waiting = undefined;
        w();
      }
    });
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        waiting = resolve;
        socket.write(message);
      });
      times.push((performance.now() - t0) * 1000);
    }
    socket.destroy();
    times.sort((x, y) => x - y);
    const at = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
    return { samples, minUs: times[0], p50Us: at(50), p99Us: at(99) };
  } finally {
    await stopChild(child, 2000);
  }
}
