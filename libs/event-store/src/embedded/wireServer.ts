/**
 * The Postgres wire protocol in front of one PGlite: many client connections, one backend.
 *
 * PGlite runs one statement stream at a time, so connections must take turns, and two rules keep their turns from
 * mixing (the reason this exists: a per-message queue lets connection B's Parse replace connection A's unnamed
 * statement between A's Parse and Bind, and A then binds B's statement):
 *  - a turn is a whole exchange: a simple Query, or the extended-protocol messages up to and including Sync
 *    (Parse/Bind/Describe/Execute…Sync), run back to back;
 *  - while the backend is inside a transaction, only the connection that opened it gets turns, until it ends.
 * A connection that goes away inside its transaction has it rolled back.
 */
import * as net from 'net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** Message types that end an exchange: Sync, Query, Flush, Terminate, CopyDone, CopyFail. */
const EXCHANGE_END = new Set(['S', 'Q', 'H', 'X', 'c', 'f'].map((c) => c.charCodeAt(0)));
const TERMINATE = 'X'.charCodeAt(0);
/** Bigger frames are a broken or hostile client: the connection is closed. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

interface Turn {
  connection: Connection;
  messages: Uint8Array[];
}

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private pending: Uint8Array[] = [];
  closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly server: PGliteWireServer,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        const code = this.buffer.readInt32BE(4);
        if (length < 8 || length > 10_000) return this.fail();
        if (this.buffer.length < length) return;
        const message = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N'); // no encryption on a loopback socket; the client goes on in clear
          continue;
        }
        if (code === CANCEL_REQUEST) return this.close(); // not supported: the statement runs to its end
        if (code !== PROTOCOL_3) return this.fail();
        this.started = true;
        this.server.enqueue({ connection: this, messages: [new Uint8Array(message)] });
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (length < 4 || length > MAX_MESSAGE_BYTES) return this.fail();
      if (this.buffer.length < length + 1) return;
      const type = this.buffer[0];
      // Copied: the socket's buffer is reused.
      this.pending.push(new Uint8Array(this.buffer.subarray(0, length + 1)));
      this.buffer = this.buffer.subarray(length + 1);
      if (type === TERMINATE) {
        this.pending = [];
        return this.close();
      }
      if (EXCHANGE_END.has(type)) {
        this.server.enqueue({ connection: this, messages: this.pending });
        this.pending = [];
      }
    }
  }

  private fail(): void {
    this.socket.destroy();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.server.forget(this);
  }
}

export class PGliteWireServer {
  private server?: net.Server;
  private readonly queue: Turn[] = [];
  private readonly connections = new Set<Connection>();
  /** The connection whose transaction is open in the backend. */
  private owner: Connection | null = null;
  private running = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PGlite,
    private readonly options: { host: string; port: number; maxConnections: number },
  ) {}

  async start(): Promise<{ host: string; port: number }> {
    const server = net.createServer((socket) => {
      if (this.connections.size >= this.options.maxConnections) {
        socket.destroy();
        return;
      }
      this.connections.add(new Connection(socket, this));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const connection of [...this.connections]) connection.close();
    await closed;
    await this.idle;
  }

  enqueue(turn: Turn): void {
    this.queue.push(turn);
    this.pump();
  }

  /** A connection went away: its queued turns are dropped, and its open transaction rolled back. */
  forget(connection: Connection): void {
    this.connections.delete(connection);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].connection === connection) this.queue.splice(i, 1);
    if (this.owner === connection) {
      this.owner = null;
      this.enqueueRollback();
    }
    this.pump();
  }

  private enqueueRollback(): void {
    const previous = this.idle;
    this.idle = previous.then(() => this.db.exec('ROLLBACK').then(() => undefined, () => undefined));
    void this.idle.then(() => this.pump());
  }

  private next(): Turn | undefined {
    const index = this.owner ? this.queue.findIndex((t) => t.connection === this.owner) : 0;
    return index < 0 ? undefined : this.queue.splice(index, 1)[0];
  }

  private pump(): void {
    if (this.running) return;
    this.running = true;
    this.idle = this.idle.then(async () => {
      try {
        for (let turn = this.next(); turn; turn = this.next()) await this.run(turn);
      } finally {
        this.running = false;
      }
    });
  }

  private async run(turn: Turn): Promise<void> {
    const { connection } = turn;
    if (connection.closed) return;
    try {
      await this.db.runExclusive(async () => {
        for (const message of turn.messages) {
          await this.db.execProtocolRawStream(message, {
            onRawData: (data: Uint8Array) => {
              if (!connection.closed && data.length > 0) connection.socket.write(Buffer.from(data));
            },
          });
        }
      });
    } catch {
      connection.close();
    }
    if (this.db.isInTransaction()) {
      this.owner = connection;
      if (connection.closed) {
        this.owner = null;
        await this.db.exec('ROLLBACK').catch(() => undefined);
      }
    } else if (this.owner === connection) {
      this.owner = null;
    }
  }
}
