/**
 * Everything one replica says to one partner about one device, over 1..N non-bonded links: requests spread over
 * the live links (fewest in flight first), each answered by a Reply with the same request id. When a link dies its
 * unanswered requests go again on another live link (the receiver makes repeats harmless: writes are serialised by
 * the cluster range lock, so re-applying one cannot undo a later write; locks and PR changes are deduplicated by
 * request id). When the last link dies, every unanswered request fails with PartnerUnreachable and the device
 * decides (heartbeat, priorities) what that means.
 */
import { FrameFlag, FrameType, type FrameHeader } from '../protocol/frame';
import { BucketHistogram, RTT_BUCKETS_SECONDS } from '../stats/bucketHistogram';
import type { SyncLink } from './syncLink';

export class PartnerUnreachable extends Error {
  constructor(readonly partnerNodeId: string, reason: string) {
    super(`partner ${partnerNodeId} unreachable: ${reason}`);
    this.name = 'PartnerUnreachable';
  }
}

/** The partner answered with an error (the message is in the payload). */
export class PartnerRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartnerRefused';
  }
}

export interface ChannelReply {
  flags: number;
  position: number;
  aux: number;
  payload: Buffer;
}

interface Pending {
  requestId: number;
  type: number;
  flags: number;
  position: number;
  aux: number;
  payload: Buffer | undefined;
  offset: number;
  length: number;
  link: SyncLink;
  resolve: (reply: ChannelReply) => void;
  reject: (error: Error) => void;
}

export type RequestHandler = (header: FrameHeader, payload: Buffer, respond: (flags: number, aux: number, payload?: Buffer) => void) => void;

export class PartnerChannel {
  private readonly links: SyncLink[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  /** Handles the partner's requests (set by the device). */
  onRequest: RequestHandler = (_h, _p, respond) => respond(FrameFlag.Error, 0, Buffer.from('not ready'));
  /** The first link came up / the last link went down. */
  onUp: () => void = () => undefined;
  onDown: (reason: string) => void = () => undefined;

  constructor(readonly partnerNodeId: string) {}

  get connected(): boolean {
    return this.links.length > 0;
  }

  get linkCount(): number {
    return this.links.length;
  }

  /** Best round trip over the live links in microseconds, −1 when none measured yet. */
  get rttMicros(): number {
    let best = -1;
    for (const l of this.links) if (l.rttMicros >= 0 && (best < 0 || l.rttMicros < best)) best = l.rttMicros;
    return best;
  }

  /** The slowest live link's round-trip floor since the last call (see SyncLink.takeRttFloor), −1 when none measured. */
  takeRttFloor(): number {
    let worst = -1;
    for (const l of this.links) worst = Math.max(worst, l.takeRttFloor());
    return worst;
  }

  /** Ping round trips per link index (link i: our sync address i to the partner's), kept across reconnects. */
  readonly rttHistograms: BucketHistogram[] = [];

  /** Links up now, by index. */
  linkIndexes(): number[] {
    return this.links.map((l) => l.index);
  }

  /** A handshaken link joins. */
  addLink(link: SyncLink): void {
    const wasDown = this.links.length === 0;
    link.rttHistogram = this.rttHistograms[link.index] ??= new BucketHistogram(RTT_BUCKETS_SECONDS);
    this.links.push(link);
    if (wasDown) this.onUp();
  }

  /** Frames from a link of this channel. */
  receive(link: SyncLink, header: FrameHeader, payload: Buffer): void {
    if (header.type === FrameType.Reply) {
      const p = this.pending.get(header.requestId);
      if (!p) return; // answered already on another link
      this.pending.delete(header.requestId);
      p.link.inFlight--;
      if (header.flags & FrameFlag.Error) p.reject(new PartnerRefused(payload.toString('utf8')));
      // The header object is reused by the decoder: copy what the caller needs.
      else p.resolve({ flags: header.flags, position: header.position, aux: header.aux, payload });
      return;
    }
    const requestId = header.requestId;
    this.onRequest(header, payload, (flags, aux, reply) => link.send(FrameType.Reply, flags, requestId, 0, aux, reply));
  }

  /** When a frame last arrived from the partner on a link now closed (see HaDevice's fence). */
  lastHeardAt = 0;
  /** The last link went down for silence (a cut), not because the other side closed or reset it. */
  wentSilent = false;

  /** A link died: its unanswered requests go again on another; with none left the partner is unreachable. */
  linkClosed(link: SyncLink, reason: string): void {
    const at = this.links.indexOf(link);
    if (at < 0) return;
    this.links.splice(at, 1);
    this.lastHeardAt = Math.max(this.lastHeardAt, link.lastHeard);
    this.wentSilent = link.silent;
    if (this.links.length > 0) {
      for (const p of this.pending.values()) if (p.link === link) this.transmit(p);
      return;
    }
    const error = new PartnerUnreachable(this.partnerNodeId, reason);
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(error);
    this.onDown(reason);
  }

  /** Sends a request and resolves with the partner's reply. `payload` must stay unchanged until then. */
  request(type: number, flags: number, position: number, aux: number, payload?: Buffer, offset = 0, length = payload ? payload.length - offset : 0): Promise<ChannelReply> {
    if (this.links.length === 0) return Promise.reject(new PartnerUnreachable(this.partnerNodeId, 'no sync link'));
    return new Promise((resolve, reject) => {
      const p: Pending = { requestId: this.nextRequestId++, type, flags, position, aux, payload, offset, length, link: this.links[0], resolve, reject };
      this.pending.set(p.requestId, p);
      this.transmit(p);
    });
  }

  /** A one-way message (no reply expected). */
  notify(type: number, flags: number, position: number, aux: number, payload?: Buffer): void {
    const link = this.pickLink();
    link?.send(type, flags, 0, position, aux, payload);
  }

  private pickLink(): SyncLink | undefined {
    let best: SyncLink | undefined;
    for (const l of this.links) if (!best || l.inFlight < best.inFlight) best = l;
    return best;
  }

  private transmit(p: Pending): void {
    const link = this.pickLink()!;
    p.link = link;
    link.inFlight++;
    link.send(p.type, p.flags, p.requestId, p.position, p.aux, p.payload, p.offset, p.length);
  }

  /** Closes every link (device closing). */
  close(reason: string): void {
    for (const l of [...this.links]) l.close(reason);
  }
}
