import * as net from 'net';
import { randomBytes } from 'crypto';
import { adoptWithReadBuffer, connectWithReadBuffer, createReadBufferServer, type ReadRoute } from './socketReads';
import { until } from '@tandem/testing';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

describe('sockets reading into a buffer of their own', () => {
  it('an accepted socket, adopted: every byte arrives in order, through one reused buffer, and it still writes and closes', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const received: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    let serverSide: net.Socket | undefined;
    const closed = new Promise<void>((resolveClosed) => {
      const server = createReadBufferServer((accepted) => {
        const route: ReadRoute = {
          to: (chunk) => {
            memories.add(chunk.buffer);
            received.push(Buffer.from(chunk)); // the chunk is valid only during the call
            if (received.reduce((n, c) => n + c.length, 0) === data.length) serverSide!.end('done');
          },
        };
        serverSide = adoptWithReadBuffer(accepted, route, 64 * 1024);
        serverSide.on('close', () => resolveClosed());
      });
      void listen(server).then((port) => {
        const client = net.connect(port, '127.0.0.1', () => {
          for (let at = 0; at < data.length; at += 100_000) client.write(data.subarray(at, at + 100_000));
        });
        let reply = '';
        client.setEncoding('utf8').on('data', (d: string) => (reply += d));
        client.on('end', () => {
          expect(reply).toBe('done');
          client.end();
          server.close();
        });
      });
    });
    await closed;
    expect(Buffer.concat(received).equals(data)).toBe(true);
    expect(received.length).toBeGreaterThan(1);
    expect(memories.size).toBe(1);
  });

  it('reads straight into the memory the route offers, never past it, and back into its own buffer after', async () => {
    const head = randomBytes(1000);
    const body = randomBytes(2 * 1024 * 1024 + 7);
    const tail = randomBytes(5000);
    const data = Buffer.concat([head, body, tail]);
    const target = Buffer.alloc(body.length);
    let filled = 0;
    let directReads = 0;
    const chunks: Buffer[] = [];
    let got = 0;
    const finished = new Promise<void>((resolve) => {
      const server = createReadBufferServer((accepted) => {
        const route: ReadRoute = {
          to: (chunk) => {
            chunks.push(Buffer.from(chunk));
            got += chunk.length;
            if (got === head.length + tail.length) (socket.destroy(), server.close(), resolve());
          },
          // The "message" starts after the head: offered once the head is in, until it is full.
          direct: () => (got >= head.length && filled < body.length ? target.subarray(filled) : null),
          landed: (n) => {
            directReads++;
            filled += n;
          },
        };
        const socket = adoptWithReadBuffer(accepted, route, 64 * 1024);
      });
      void listen(server).then((port) => {
        const client = net.connect(port, '127.0.0.1', () => {
          client.write(head);
          // The head alone first: the rest goes once the server has read all of it.
          void until(() => got >= head.length, 'the server to read the head').then(() => client.end(Buffer.concat([body, tail])));
        });
      });
    });
    await finished;
    expect(directReads).toBeGreaterThan(0);
    expect(target.equals(body)).toBe(true);
    expect(Buffer.concat(chunks).equals(Buffer.concat([head, tail]))).toBe(true);
    expect(filled + got).toBe(data.length);
  });

  it('a socket already reading (its server not paused on connect) is not adopted: its data events feed the route', async () => {
    const data = randomBytes(512 * 1024);
    const received: Buffer[] = [];
    let adopted: net.Socket | undefined;
    let original: net.Socket | undefined;
    const done = new Promise<void>((resolve) => {
      const server = net.createServer((accepted) => {
        original = accepted;
        adopted = adoptWithReadBuffer(accepted, {
          to: (chunk) => {
            received.push(Buffer.from(chunk));
            if (received.reduce((n, c) => n + c.length, 0) === data.length) {
              adopted!.destroy();
              server.close();
              resolve();
            }
          },
        });
      });
      void listen(server).then((port) => {
        const client = net.connect(port, '127.0.0.1', () => client.end(data));
      });
    });
    await done;
    expect(adopted).toBe(original);
    expect(Buffer.concat(received).equals(data)).toBe(true);
  });

  it('the server stops counting an adopted socket, so it closes while the socket lives on', async () => {
    const server = createReadBufferServer((accepted) => {
      const socket = adoptWithReadBuffer(accepted, { to: () => undefined });
      server.close(() => socket.destroy());
    });
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => client.on('close', () => resolve()));
  });

  it('a dialled socket reads into its own buffer too, and the route can be switched between reads', async () => {
    const first: string[] = [];
    const server = net.createServer((s) => {
      s.write('hello');
      void until(() => first.length > 0, 'the client to read the first chunk').then(() => s.end('world'));
    });
    const port = await listen(server);
    const second: string[] = [];
    const route: ReadRoute = {
      to: (chunk) => {
        first.push(chunk.toString());
        route.to = (c) => second.push(c.toString());
      },
    };
    const client = connectWithReadBuffer({ host: '127.0.0.1', port }, route);
    await new Promise<void>((resolve) => client.on('end', () => resolve()));
    client.destroy();
    server.close();
    expect(first).toEqual(['hello']);
    expect(second.join('')).toBe('world');
  });
});
