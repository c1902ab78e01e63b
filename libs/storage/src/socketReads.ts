/**
 * Sockets of the data path that read into one buffer of their own. By default Node allocates a new 64 KiB buffer
 * for every read of every socket; at a gigabyte a second that is thousands of ArrayBuffers a second, which V8
 * counts as external memory and answers with garbage collections. With `onread`, each read lands in the same
 * buffer and the receiver copies out what it keeps (the iSCSI PDU reader and the sync frame decoder copy anyway).
 *
 * Node offers `onread` only for sockets it creates (`net.connect`), not for those a server accepts; an accepted
 * socket is therefore re-wrapped: its server is made with `pauseOnConnect` (nothing read yet), and a new Socket is
 * built over the same handle with `onread`. Where the handle cannot be taken (not a stream handle of this Node), the
 * socket stays as it is and its 'data' events feed the same route.
 */
import * as net from 'net';

/** Where a socket's reads go. `to` may be changed at any time (a handshake reader, then the connection's). */
export interface ReadRoute {
  /** One read's bytes: valid only during the call (the buffer is reused by the next read); copy what you keep. */
  to: (chunk: Buffer) => void;
  /**
   * Asked before every read: memory the next read may fill directly (the unfilled rest of a large message the
   * receiver assembles), or null for the socket's own buffer. A read never fills more than the memory given, so it
   * cannot run past the message; what it filled is reported to `landed`, not `to`. Saves copying large payloads.
   */
  direct?: () => Uint8Array | null;
  /** `nread` bytes were read into the memory `direct` gave last. */
  landed?: (nread: number) => void;
}

/** Bytes read per system call at most; loopback and 10 GbE deliver far more than 64 KiB per wake-up under load. */
export const SOCKET_READ_BYTES = 256 * 1024;

function onread(route: ReadRoute, bytes: number): net.OnReadOpts {
  const own = Buffer.allocUnsafeSlow(bytes);
  return {
    // Called for the first read and after every read: where the next one lands.
    buffer: (): Uint8Array => (route.direct === undefined ? own : route.direct() ?? own),
    callback: (nread: number, buf: Uint8Array): boolean => {
      if (buf === own) route.to(own.subarray(0, nread));
      else route.landed!(nread);
      return true; // keep reading
    },
  };
}

/** `net.connect` whose reads go to `route` through one buffer of the socket's own. */
export function connectWithReadBuffer(options: net.TcpNetConnectOpts, route: ReadRoute, bytes = SOCKET_READ_BYTES): net.Socket {
  return net.connect({ ...options, onread: onread(route, bytes) });
}

/** A server whose accepted sockets are ready for `adoptWithReadBuffer` (nothing is read before adoption). */
export function createReadBufferServer(onConnection: (socket: net.Socket) => void): net.Server {
  return net.createServer({ pauseOnConnect: true }, onConnection);
}

interface HandleOwner {
  _handle?: { readStart?: unknown; useUserBuffer?: unknown; reading?: boolean } | null;
}

/**
 * Takes over an accepted socket (from `createReadBufferServer`): returns the socket to use from now on, whose reads
 * go to `route`. The accepted socket is released (its server no longer counts it; close the returned one yourself).
 */
export function adoptWithReadBuffer(accepted: net.Socket, route: ReadRoute, bytes = SOCKET_READ_BYTES): net.Socket {
  const owner = accepted as unknown as HandleOwner;
  const handle = owner._handle;
  // Only a handle that has not started reading (pauseOnConnect) can change owner without losing bytes.
  if (!handle || typeof handle.useUserBuffer !== 'function' || typeof handle.readStart !== 'function' || handle.reading !== false || accepted.destroyed) {
    accepted.on('data', (chunk: Buffer) => route.to(chunk));
    accepted.resume();
    return accepted;
  }
  owner._handle = null;
  const socket = new net.Socket({ handle, onread: onread(route, bytes) } as net.SocketConstructorOpts);
  // The old wrapper has no handle any more: destroying it closes nothing, it only leaves its server's count.
  accepted.destroy();
  return socket;
}
