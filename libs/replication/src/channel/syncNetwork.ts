/**
 * The node's side of the sync and heartbeat channels, shared by all its HA devices.
 *
 * Sync: TCP. For each device and partner, the node with the smaller node id dials one link per partner sync
 * address (link i from the local sync address i when there is one, so separate cables stay separate), redialling
 * while the device is open; the other accepts on its sync addresses. A link's first frame is a Hello naming the
 * device, the sender and the link index; the acceptor answers HelloReply and both hand the link to the device's
 * channel for that partner.
 *
 * Heartbeat: UDP on separate addresses, consulted only when every sync link to a partner is down: "are you
 * alive?" datagrams to each of the partner's heartbeat addresses, alive if any answers in time.
 */
import * as dgram from 'dgram';
import * as net from 'net';
import { adoptWithReadBuffer, connectWithReadBuffer, createReadBufferServer, type ReadRoute } from '@tandem/storage';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameType, encodeFrameHeader, type FrameHeader } from '../protocol/frame';
import type { PartnerChannel } from './partnerChannel';
import { SyncLink, type SyncLinkOptions } from './syncLink';

export interface Endpoint {
  host: string;
  port: number;
}

export interface SyncNetworkOptions {
  nodeId: string;
  syncListen: Endpoint[];
  heartbeatListen: Endpoint[];
  link?: Partial<SyncLinkOptions>;
  /** TCP connections opened per sync link (address pair). Default 1 (more did not measure better on a busy 2-core box). */
  connectionsPerLink?: number;
  /** Wait between redials of a link that is down. Default 250 ms. */
  redialMs?: number;
  log?: (message: string) => void;
}

interface Registration {
  deviceId: string;
  partnerNodeId: string;
  partnerSync: Endpoint[];
  channel: PartnerChannel;
  dialers: Dialer[];
}

const CONNECTIONS_PER_LINK = 1;
const DEFAULT_LINK: SyncLinkOptions = { pingIntervalMs: 200, deadAfterMs: 1000, maxPayloadBytes: 17 * 1024 * 1024 };

export class SyncNetwork {
  private readonly servers: net.Server[] = [];
  private readonly heartbeatSockets: dgram.Socket[] = [];
  private readonly registrations = new Map<string, Registration>();
  private readonly linkOptions: SyncLinkOptions;
  private readonly probes = new Map<string, () => void>();
  private nonce = 0;
  private closed = false;

  constructor(private readonly options: SyncNetworkOptions) {
    this.linkOptions = { ...DEFAULT_LINK, ...options.link };
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  async start(): Promise<void> {
    for (const endpoint of this.options.syncListen) {
      const server = createReadBufferServer((socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(endpoint.port, endpoint.host, () => (server.off('error', reject), resolve()));
      });
      this.servers.push(server);
    }
    for (const endpoint of this.options.heartbeatListen) {
      const socket = dgram.createSocket({ type: net.isIPv6(endpoint.host) ? 'udp6' : 'udp4', reuseAddr: false });
      socket.on('message', (msg, from) => this.heartbeat(socket, msg, from));
      socket.on('error', (error) => this.log(`heartbeat socket ${endpoint.host}:${endpoint.port}: ${error.message}`));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(endpoint.port, endpoint.host, () => (socket.off('error', reject), resolve()));
      });
      this.heartbeatSockets.push(socket);
    }
  }

  /** Sync addresses actually listened on (port 0 resolved). */
  syncAddresses(): Endpoint[] {
    return this.servers.map((s) => {
      const a = s.address() as net.AddressInfo;
      return { host: a.address, port: a.port };
    });
  }

  heartbeatAddresses(): Endpoint[] {
    return this.heartbeatSockets.map((s) => {
      const a = s.address();
      return { host: a.address, port: a.port };
    });
  }

  private log(message: string): void {
    (this.options.log ?? (() => undefined))(message);
  }

  /** A device's channel to one partner: links are dialled (smaller node id) or accepted for it from now on. */
  register(deviceId: string, partnerNodeId: string, partnerSync: Endpoint[], channel: PartnerChannel): void {
    const key = `${deviceId}/${partnerNodeId}`;
    if (this.registrations.has(key)) throw new Error(`device ${deviceId} already has a channel to ${partnerNodeId}`);
    const registration: Registration = { deviceId, partnerNodeId, partnerSync, channel, dialers: [] };
    this.registrations.set(key, registration);
    if (this.options.nodeId < partnerNodeId) {
      partnerSync.forEach((to, index) => {
        const from = this.options.syncListen[index]?.host;
        // Several TCP connections per link: large writes do not queue behind each other on one socket.
        for (let c = 0; c < (this.options.connectionsPerLink ?? CONNECTIONS_PER_LINK); c++) {
          const dialer = new Dialer(this, registration, index, to, from, this.options.redialMs ?? 250);
          registration.dialers.push(dialer);
          dialer.dial();
        }
      });
    }
  }

  unregister(deviceId: string, partnerNodeId: string): void {
    const key = `${deviceId}/${partnerNodeId}`;
    const registration = this.registrations.get(key);
    if (!registration) return;
    this.registrations.delete(key);
    for (const d of registration.dialers) d.stop();
    registration.channel.close('device closed');
  }

  /** Wraps a connected socket in a link of `registration`'s channel (after the Hello exchange); its reads go to the link. */
  attach(socket: net.Socket, route: ReadRoute, registration: Registration, index: number): SyncLink {
    const channel = registration.channel;
    const link = new SyncLink(
      socket,
      index,
      this.linkOptions,
      (l, h, p) => channel.receive(l, h, p),
      (l, reason) => channel.linkClosed(l, reason),
    );
    route.to = (chunk) => link.receive(chunk);
    route.direct = () => link.directTarget();
    route.landed = (n) => link.receiveDirect(n);
    channel.addLink(link);
    return link;
  }

  private accept(accepted: net.Socket): void {
    if (this.closed) return void accepted.destroy();
    const route: ReadRoute = {
      to: (chunk) => {
        try {
          hello.push(chunk);
        } catch {
          socket.destroy();
        }
      },
    };
    const socket = adoptWithReadBuffer(accepted, route);
    // Until the Hello arrives the socket belongs to no device; a silent or wrong peer is dropped.
    let done = false;
    const timer = setTimeout(() => socket.destroy(), 3000);
    const hello = new HelloReader((header, payload) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      route.to = () => undefined;
      let info: { deviceId?: string; nodeId?: string; index?: number };
      try {
        info = JSON.parse(payload.toString('utf8'));
      } catch {
        return void socket.destroy();
      }
      const registration = this.registrations.get(`${info.deviceId}/${info.nodeId}`);
      if (header.type !== FrameType.Hello || !registration || typeof info.index !== 'number') {
        this.log(`sync link refused: ${!registration ? `no device ${info.deviceId} with partner ${info.nodeId} here` : 'bad hello'}`);
        return void socket.destroy();
      }
      const link = this.attach(socket, route, registration, info.index);
      link.send(FrameType.HelloReply, 0, header.requestId, 0, 0, Buffer.from(JSON.stringify({ deviceId: info.deviceId, nodeId: this.options.nodeId })));
      const rest = hello.rest();
      if (rest.length > 0) link.receive(rest);
    });
    socket.on('error', () => socket.destroy());
  }

  private heartbeat(socket: dgram.Socket, msg: Buffer, from: dgram.RemoteInfo): void {
    const text = msg.toString('utf8', 0, Math.min(msg.length, 200));
    const [kind, nodeId, nonce] = text.split(' ');
    if (kind === 'ping' && nodeId) socket.send(`pong ${this.options.nodeId} ${nonce ?? ''}`, from.port, from.address);
    else if (kind === 'pong' && nonce) this.probes.get(nonce)?.();
  }

  /**
   * True when the partner answers on any heartbeat address within `timeoutMs` (several tries). False at once when
   * every address refuses: each ping also goes from a socket connected to that address, and a host that is up but
   * has no agent listening answers with ICMP port unreachable, which a connected socket reports (ECONNREFUSED) —
   * the partner's process is gone, no need to wait out the timeout. A cut link drops packets silently: timeout.
   */
  probeHeartbeat(partner: Endpoint[], timeoutMs = 600): Promise<boolean> {
    if (partner.length === 0 || this.heartbeatSockets.length === 0) return Promise.resolve(false);
    const nonce = `${process.pid}-${++this.nonce}`;
    const message = `ping ${this.options.nodeId} ${nonce}`;
    return new Promise((resolve) => {
      let finished = false;
      const refused = new Set<number>();
      /** Per address: a ping from the socket connected to it (until it refused), or null (address family differs). */
      const probes: ({ socket: dgram.Socket; ping: () => void } | null)[] = partner.map((to, i) => {
        const local = this.heartbeatSockets[i] ?? this.heartbeatSockets[0];
        const family = local.address().family === 'IPv6' ? 'udp6' : 'udp4';
        if ((family === 'udp6') !== net.isIPv6(to.host) && net.isIP(to.host) !== 0) return null;
        const probe = dgram.createSocket({ type: family });
        probe.on('message', (msg, from) => this.heartbeat(probe, msg, from));
        probe.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code !== 'ECONNREFUSED') return;
          refused.add(i);
          if (refused.size === partner.length) finish(false);
        });
        const ping = () => {
          if (finished || refused.has(i)) return;
          try {
            probe.send(message);
          } catch {
            // not connected yet (its first ping follows the connect), or closed meanwhile
          }
        };
        // From the heartbeat address, so the probe takes the heartbeat link.
        probe.bind(0, local.address().address, () => {
          if (finished) return;
          try {
            probe.connect(to.port, to.host, ping);
          } catch {
            // closed meanwhile
          }
        });
        return { socket: probe, ping };
      });
      const send = () => {
        partner.forEach((to, i) => {
          const socket = this.heartbeatSockets[i] ?? this.heartbeatSockets[0];
          try {
            socket.send(message, to.port, to.host);
          } catch {
            // closed meanwhile: the deadline decides
          }
          probes[i]?.ping();
        });
      };
      const finish = (alive: boolean) => {
        if (finished) return;
        finished = true;
        clearInterval(retry);
        clearTimeout(deadline);
        this.probes.delete(nonce);
        for (const probe of probes) probe?.socket.close();
        resolve(alive);
      };
      const retry = setInterval(send, Math.max(50, Math.floor(timeoutMs / 4)));
      const deadline = setTimeout(() => finish(false), timeoutMs);
      this.probes.set(nonce, () => finish(true));
      send();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const key of [...this.registrations.keys()]) {
      const [deviceId, partner] = key.split('/');
      this.unregister(deviceId, partner);
    }
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const s of this.heartbeatSockets) s.close();
  }
}

/** Keeps one outgoing link of a registration up: dial, Hello, hand over; redial after it dies. */
class Dialer {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private socket?: net.Socket;

  constructor(
    private readonly network: SyncNetwork,
    private readonly registration: Registration,
    private readonly index: number,
    private readonly to: Endpoint,
    private readonly from: string | undefined,
    private readonly redialMs: number,
  ) {}

  dial(): void {
    if (this.stopped || this.network.isClosed) return;
    const route: ReadRoute = { to: () => undefined };
    const socket = connectWithReadBuffer({ host: this.to.host, port: this.to.port, localAddress: this.from && !['0.0.0.0', '::'].includes(this.from) ? this.from : undefined }, route);
    this.socket = socket;
    let attached = false;
    const retry = () => {
      if (attached) return;
      socket.destroy();
      this.later();
    };
    socket.setTimeout(3000, retry);
    socket.once('error', retry);
    socket.once('close', retry);
    socket.once('connect', () => {
      socket.setTimeout(0);
      const hello = new HelloReader((header) => {
        if (header.type !== FrameType.HelloReply) return retry();
        attached = true;
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.removeAllListeners('timeout');
        const link = this.network.attach(socket, route, this.registration, this.index);
        socket.once('close', () => this.later());
        const rest = hello.rest();
        if (rest.length > 0) link.receive(rest);
      });
      route.to = (chunk) => {
        try {
          hello.push(chunk);
        } catch {
          retry();
        }
      };
      const body = Buffer.from(JSON.stringify({ deviceId: this.registration.deviceId, nodeId: this.network.nodeId, index: this.index }));
      socket.write(encodeHello(FrameType.Hello, body));
    });
  }

  private later(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dial();
    }, this.redialMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }
}


function encodeHello(type: number, body: Buffer): Buffer {
  const header = encodeFrameHeader(Buffer.allocUnsafe(FRAME_HEADER_BYTES), type, 0, 0, 0, 0, body, 0, body.length);
  return Buffer.concat([header, body]);
}

/** Reads exactly one frame (the Hello or HelloReply) and keeps whatever bytes came after it. */
class HelloReader {
  private readonly decoder: FrameDecoder;
  private got = false;
  private buffered: Buffer[] = [];
  private seen = 0;
  private total = 0;

  constructor(private readonly onHello: (header: FrameHeader, payload: Buffer) => void) {
    this.decoder = new FrameDecoder((h, p) => {
      if (this.got) return;
      this.got = true;
      this.seen = FRAME_HEADER_BYTES + h.payloadLength;
      this.onHello({ ...h }, Buffer.from(p));
    }, 64 * 1024);
  }

  /** `chunk` is copied: the socket reuses its read buffer. */
  push(chunk: Buffer): void {
    this.buffered.push(Buffer.from(chunk));
    this.total += chunk.length;
    if (!this.got) {
      // Feed byte-exact up to the end of the first frame: the decoder must not swallow what follows.
      this.decoder.push(chunk);
    }
  }

  /** Bytes received after the first frame. */
  rest(): Buffer {
    const all = Buffer.concat(this.buffered);
    return all.subarray(this.seen);
  }
}
