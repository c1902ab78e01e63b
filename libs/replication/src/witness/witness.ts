/**
 * The witness: a light process that breaks the tie of a two-node HA device (strategy NODE_MAJORITY). When the two
 * replicas lose each other, each asks the witness for the device's vote; the first gets it and goes on alone (two
 * votes of three: itself and the witness), the other is refused and blocks. The vote stays with its holder until
 * the holder gives it back (the two replicas are synchronized again), and survives a witness restart (kept in a
 * file), so a witness crash cannot hand it to the other side.
 *
 * Wire: one UDP datagram each way, JSON: {op:"claim"|"release", deviceId, nodeId, nonce} → {ok, holder, nonce}.
 */
import * as dgram from 'dgram';
import { promises as fsp } from 'fs';
import * as net from 'net';
import type { Endpoint } from '../channel/syncNetwork';

interface WitnessRequest {
  op: 'claim' | 'release';
  deviceId: string;
  nodeId: string;
  nonce: string;
}

export class WitnessServer {
  private readonly sockets: dgram.Socket[] = [];
  private holders = new Map<string, string>();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: { listen: Endpoint[]; stateFile: string; log?: (message: string) => void }) {}

  async start(): Promise<Endpoint[]> {
    try {
      const saved = JSON.parse(await fsp.readFile(this.options.stateFile, 'utf8')) as Record<string, string>;
      this.holders = new Map(Object.entries(saved));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`witness state ${this.options.stateFile} is unreadable: ${(error as Error).message}`);
    }
    for (const endpoint of this.options.listen) {
      const socket = dgram.createSocket(net.isIPv6(endpoint.host) ? 'udp6' : 'udp4');
      socket.on('message', (msg, from) => void this.answer(socket, msg, from));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(endpoint.port, endpoint.host, () => (socket.off('error', reject), resolve()));
      });
      this.sockets.push(socket);
    }
    return this.sockets.map((s) => ({ host: s.address().address, port: s.address().port }));
  }

  /** Which node holds each device's vote now. */
  holdersNow(): Record<string, string> {
    return Object.fromEntries(this.holders);
  }

  private async answer(socket: dgram.Socket, msg: Buffer, from: dgram.RemoteInfo): Promise<void> {
    let request: WitnessRequest;
    try {
      request = JSON.parse(msg.toString('utf8', 0, Math.min(msg.length, 1024)));
      if ((request.op !== 'claim' && request.op !== 'release') || typeof request.deviceId !== 'string' || typeof request.nodeId !== 'string') throw new Error('bad request');
    } catch {
      return; // not a witness request: no answer
    }
    const holder = this.holders.get(request.deviceId);
    let ok: boolean;
    if (request.op === 'claim') {
      ok = holder === undefined || holder === request.nodeId;
      if (ok && holder === undefined) {
        this.holders.set(request.deviceId, request.nodeId);
        await this.save();
        this.options.log?.(`device ${request.deviceId}: vote given to ${request.nodeId}`);
      }
    } else {
      ok = holder === request.nodeId || holder === undefined;
      if (holder === request.nodeId) {
        this.holders.delete(request.deviceId);
        await this.save();
        this.options.log?.(`device ${request.deviceId}: vote returned by ${request.nodeId}`);
      }
    }
    socket.send(JSON.stringify({ ok, holder: this.holders.get(request.deviceId) ?? null, nonce: request.nonce }), from.port, from.address);
  }

  /** Durable before the answer: a vote given must not be forgotten by a crash. */
  private save(): Promise<void> {
    const body = JSON.stringify(Object.fromEntries(this.holders));
    this.saving = this.saving.then(async () => {
      const tmp = `${this.options.stateFile}.tmp`;
      const handle = await fsp.open(tmp, 'w');
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, this.options.stateFile);
    });
    return this.saving;
  }

  async stop(): Promise<void> {
    await this.saving.catch(() => undefined);
    for (const s of this.sockets) s.close();
  }
}

/** Asks the witness (any of its addresses); resolves true when granted, false when refused or silent. */
export function askWitness(witness: Endpoint[], request: Omit<WitnessRequest, 'nonce'>, timeoutMs = 800): Promise<boolean> {
  if (witness.length === 0) return Promise.resolve(false);
  const nonce = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const socket = dgram.createSocket(net.isIPv6(witness[0].host) ? 'udp6' : 'udp4');
  return new Promise<boolean>((resolve) => {
    const finish = (granted: boolean) => {
      clearInterval(retry);
      clearTimeout(deadline);
      socket.close();
      resolve(granted);
    };
    socket.on('message', (msg) => {
      try {
        const reply = JSON.parse(msg.toString('utf8'));
        if (reply.nonce === nonce) finish(reply.ok === true);
      } catch {
        // not an answer
      }
    });
    socket.on('error', () => undefined);
    const send = () => {
      for (const w of witness) socket.send(JSON.stringify({ ...request, nonce }), w.port, w.host);
    };
    const retry = setInterval(send, Math.max(50, Math.floor(timeoutMs / 4)));
    const deadline = setTimeout(() => finish(false), timeoutMs);
    send();
  });
}
