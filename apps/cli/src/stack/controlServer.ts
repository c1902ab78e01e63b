/**
 * The running stack's end of the control channel: a unix socket (mode 0600) in the data directory, or, when that
 * path is too long for a socket address, in a private temporary directory; stack.json names it either way.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { controlSocketInDataDir, isControlReply, parseControlRequest, type ControlReply, type ControlRequest } from './controlProtocol';

/** A request line longer than this is not one of ours. */
const MAX_REQUEST_BYTES = 4096;

export class ControlServer {
  private server: net.Server | null = null;
  private privateDir: string | null = null;
  private socketPath = '';

  constructor(private readonly handle: (request: ControlRequest) => Promise<ControlReply>) {}

  /** Listens; resolves with the socket's path. A stale socket file (a stack killed with SIGKILL) is replaced. */
  async listen(dataDir: string): Promise<string> {
    let socket = controlSocketInDataDir(dataDir);
    if (!socket) {
      this.privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-stack-'));
      socket = path.join(this.privateDir, 'stack.sock');
    }
    // Only the stack's caller claimed the data directory (stack.json): a socket file left there is stale.
    fs.rmSync(socket, { force: true });
    const server = net.createServer((connection) => this.serve(connection));
    this.server = server;
    this.socketPath = socket;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Created 0600 from the start (the bind happens inside listen): only this user may kill or restart nodes.
      const umask = process.umask(0o177);
      try {
        server.listen(socket, () => resolve());
      } finally {
        process.umask(umask);
      }
    });
    return socket;
  }

  private serve(connection: net.Socket): void {
    let buffered = '';
    connection.setEncoding('utf8');
    connection.on('error', () => undefined);
    connection.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end < 0 && buffered.length <= MAX_REQUEST_BYTES) return;
      connection.removeAllListeners('data');
      const parsed = parseControlRequest(end < 0 ? buffered : buffered.slice(0, end));
      const reply = isControlReply(parsed) ? Promise.resolve(parsed) : this.handle(parsed);
      void reply
        .catch((error: Error): ControlReply => ({ ok: false, code: 'FAILED', message: error.message }))
        .then((r) => connection.end(`${JSON.stringify(r)}\n`));
    });
  }

  /** Stops listening and removes the socket (and its private directory). */
  close(): void {
    this.server?.close();
    this.server = null;
    if (this.socketPath) fs.rmSync(this.socketPath, { force: true });
    if (this.privateDir) fs.rmSync(this.privateDir, { recursive: true, force: true });
    this.privateDir = null;
  }
}
