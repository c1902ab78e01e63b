// A loopback TCP proxy a test can cut (connections reset, new ones refused) and restore, or pause (bytes held,
// connections kept: a black hole) and resume — the path faults MPIO must ride through.
import * as net from 'net';
import { HOST } from './tandemTarget.spec-helper';

export class TcpProxy {
  accepted = 0;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  /** Bytes held while paused, per destination socket, in arrival order. */
  private readonly held = new Map<net.Socket, Buffer[]>();
  private isCut = false;
  private isPaused = false;

  private constructor(private readonly server: net.Server, readonly port: number, private readonly targetPort: number) {
    server.on('connection', (client) => this.accept(client));
  }

  static start(targetPort: number): Promise<TcpProxy> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const address = server.address() as net.AddressInfo;
        resolve(new TcpProxy(server, address.port, targetPort));
      });
    });
  }

  get connections(): number {
    return this.pairs.size;
  }

  /** Resets every connection and refuses new ones until restore(). */
  cut(): void {
    this.isCut = true;
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.isCut = false;
  }

  /** Stops forwarding in both directions; the connections stay open. */
  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    for (const [socket, chunks] of this.held) for (const c of chunks) if (!socket.destroyed) socket.write(c);
    this.held.clear();
  }

  close(): Promise<void> {
    // A plain close at the end (resetAndDestroy on every socket here left the process spinning in libuv).
    this.isCut = true;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.isCut) {
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect({ host: HOST, port: this.targetPort });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const forward = (to: net.Socket) => (chunk: Buffer) => {
      if (!this.isPaused) {
        to.write(chunk);
        return;
      }
      const list = this.held.get(to) ?? [];
      list.push(chunk);
      this.held.set(to, list);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const end = () => {
      this.held.delete(client);
      this.held.delete(upstream);
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }
}
