/**
 * `tandem stack kill|restart NODE`: finds the stack running on the data directory (stack.json), sends it the request
 * over its control socket and prints its answer. The stack does the work, so a request never races its own restarts.
 */
import * as net from 'net';
import { checkNodeName, controlExitCode, parseControlReply, type ControlReply, type ControlVerb } from './controlProtocol';
import { readStackState, stackProcessAlive } from './stackState';

/** A restart waits for the node to register again (up to the stack's registration timeout): allow for that. */
const REPLY_LIMIT_MS: Record<ControlVerb, number> = { kill: 20_000, restart: 180_000 };

export interface ControlOutcome {
  code: number;
  /** stdout on success, stderr otherwise. */
  message: string;
}

export async function sendControlRequest(verb: ControlVerb, node: string, dataDir: string): Promise<ControlOutcome> {
  const badName = checkNodeName(node);
  if (badName) return { code: 2, message: badName };
  const state = readStackState(dataDir);
  if (!state || !stackProcessAlive(state.pid)) {
    return { code: 2, message: `no tandem stack is running on ${dataDir} (start one with \`npx tandem stack\`; another data directory: --data-dir or TANDEM_DATA_DIR)` };
  }
  if (state.state !== 'ready' || !state.control) {
    return { code: 1, message: `the tandem stack on ${dataDir} (pid ${state.pid}) is still starting; try again once it prints "ready"` };
  }
  let reply: ControlReply;
  try {
    reply = await exchange(state.control, JSON.stringify({ verb, node }), REPLY_LIMIT_MS[verb]);
  } catch (error) {
    return { code: 1, message: `the tandem stack on ${dataDir} (pid ${state.pid}) did not answer on ${state.control}: ${(error as Error).message}` };
  }
  return { code: controlExitCode(reply), message: reply.message };
}

function exchange(socketPath: string, request: string, limitMs: number): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply within ${limitMs / 1000} s`));
    }, limitMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${request}\n`));
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'nobody listens there' : error.message));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const reply = parseControlReply(received.trim());
      if (reply) resolve(reply);
      else reject(new Error(received ? `unexpected answer ${JSON.stringify(received.slice(0, 200))}` : 'it closed the connection without an answer'));
    });
  });
}
