/**
 * The stack's control channel protocol (`tandem stack kill|restart NODE` → the running stack): one JSON request line,
 * one JSON reply line, over a unix socket named in `<dataDir>/stack.json`. Pure, so every rule here is unit-tested.
 */
import * as path from 'path';

export const CONTROL_VERBS = ['kill', 'restart'] as const;
export type ControlVerb = (typeof CONTROL_VERBS)[number];

export interface ControlRequest {
  verb: ControlVerb;
  node: string;
}

/** Why a request was not carried out; the client's exit code follows from it (controlExitCode). */
export type ControlErrorCode = 'BAD_REQUEST' | 'UNKNOWN_NODE' | 'ALREADY_DOWN' | 'STOPPING' | 'FAILED';

export type ControlReply = { ok: true; message: string } | { ok: false; code: ControlErrorCode; message: string };

/** The socket's file name in the data directory. */
export const CONTROL_SOCKET_FILE = 'stack.sock';
/** sun_path holds 108 bytes with its terminating NUL; longer paths cannot be bound. */
const MAX_SOCKET_PATH_BYTES = 107;

/** The socket in the data directory when its path fits a unix socket address; undefined when it is too long. */
export function controlSocketInDataDir(dataDir: string): string | undefined {
  const socket = path.join(dataDir, CONTROL_SOCKET_FILE);
  return Buffer.byteLength(socket) <= MAX_SOCKET_PATH_BYTES ? socket : undefined;
}

/** Node names as `tandem stack` gives them: node-a … node-z. */
const NODE_NAME = /^node-[a-z]$/;

/** Checks the command-line node name before anything is sent: bad input gets its answer without a stack. */
export function checkNodeName(node: string): string | undefined {
  if (NODE_NAME.test(node)) return undefined;
  return `node name ${JSON.stringify(node)}: expected the stack's name for it, e.g. node-a or node-b`;
}

/** A request line as the stack receives it; an error reply for anything malformed. */
export function parseControlRequest(line: string): ControlRequest | ControlReply {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, code: 'BAD_REQUEST', message: 'expected one JSON object per line' };
  }
  const { verb, node } = (value ?? {}) as { verb?: unknown; node?: unknown };
  if (typeof verb !== 'string' || !(CONTROL_VERBS as readonly string[]).includes(verb)) {
    return { ok: false, code: 'BAD_REQUEST', message: `verb ${JSON.stringify(verb)}: expected one of ${CONTROL_VERBS.join(', ')}` };
  }
  if (typeof node !== 'string' || node.length === 0) return { ok: false, code: 'BAD_REQUEST', message: 'node: expected a node name' };
  return { verb: verb as ControlVerb, node };
}

export function isControlReply(value: ControlRequest | ControlReply): value is ControlReply {
  return 'ok' in value;
}

/** A reply line from the stack; undefined when it is not one (a different program on the socket). */
export function parseControlReply(line: string): ControlReply | undefined {
  try {
    const value = JSON.parse(line) as Partial<ControlReply>;
    if (value.ok === true && typeof value.message === 'string') return value as ControlReply;
    if (value.ok === false && typeof value.message === 'string' && typeof value.code === 'string') return value as ControlReply;
  } catch {
    // not JSON
  }
  return undefined;
}

/** The client's exit code, as the stack's own: 0 done, 1 the stack could not do it, 2 bad input. */
export function controlExitCode(reply: ControlReply): number {
  if (reply.ok) return 0;
  return reply.code === 'UNKNOWN_NODE' || reply.code === 'BAD_REQUEST' ? 2 : 1;
}
