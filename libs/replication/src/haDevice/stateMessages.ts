/**
 * The HA state messages replicas exchange in State frames, and their replies: each declared once, with its encoder
 * and a decoder that checks the shape before anyone acts on it (a malformed or forged message is an error, never a
 * half-read object).
 */
import { ALUA_ACCESS_STATES, type AluaAccessState } from '@tandem/scsi';
import type { GenerationState } from '../state/generations';
import type { LocalRole } from './haEvents';

/** What a replica tells a partner in a handshake. `dirty`: per partner node id, the regions its bitmap marks (null = untrusted). */
export interface PeerState {
  nodeId: string;
  priority: number;
  generation: GenerationState;
  dirty: Record<string, number[] | null>;
  role: LocalRole;
  accessState: AluaAccessState;
  /** Partners this replica counts as members of its group. */
  members: string[];
  /** Counts the replica's role changes: a handshake state older than an access message received since is stale. */
  roleSeq: number;
}

/** A member asks the others to agree that `nodeId` leaves the group, moving it from generation `from` to `next`. */
export interface DropRequest {
  nodeId: string;
  from: string;
  next: string;
  reason: string;
}

/** The coordinator's last word to a replica it resynced into the group. */
export interface ResyncDone {
  generation: GenerationState;
  reservations: unknown;
  /** The group the target joins (the coordinator and the members that committed). */
  members: string[];
  /** For replicas outside the group: the regions they miss, as the coordinator knows them. */
  outside?: Record<string, number[] | null>;
}

export type StateMessage =
  | { kind: 'handshake'; state: PeerState }
  | { kind: 'rehandshake' }
  | { kind: 'access'; role: LocalRole; accessState: AluaAccessState; roleSeq: number }
  | ({ kind: 'drop' } & DropRequest)
  | { kind: 'join-prepare'; nodeId: string }
  | { kind: 'join-commit'; nodeId: string }
  | { kind: 'join-abort'; nodeId: string }
  | { kind: 'repair-list'; nodeId: string }
  | { kind: 'out'; reason: string }
  /** The sender stopped serving and is closing on purpose (a graceful stop): drop it, do not step aside for it. */
  | { kind: 'leaving'; reason: string }
  | ({ kind: 'resync-done' } & ResyncDone)
  | { kind: 'resolve' };

/** Yes or no to a request, with the reason for a no. */
export interface Verdict {
  ok: boolean;
  why?: string;
}

/** A member's answer to join-prepare: what it knows the joining replica misses, per partner. */
export interface JoinPrepareAnswer extends Verdict {
  dirty?: Record<string, number[] | null>;
}

/** Extents a dropped replica wrote at the answering member recently. */
export interface RepairList {
  extents: number[];
}

export class StateMessageError extends Error {}

type Raw = Record<string, unknown>;

const ROLES: readonly LocalRole[] = ['serving', 'blocked', 'resync-target'];

function fail(what: string): never {
  throw new StateMessageError(`malformed state message: ${what}`);
}
function object(value: unknown, what: string): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} is not an object`);
  return value as Raw;
}
function text(raw: Raw, key: string): string {
  const v = raw[key];
  if (typeof v !== 'string') fail(`${key} is not a string`);
  return v;
}
function count(raw: Raw, key: string): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${key} is not a number`);
  return v;
}
function oneOf<T extends string>(raw: Raw, key: string, values: readonly T[]): T {
  const v = text(raw, key);
  if (!(values as readonly string[]).includes(v)) fail(`${key} ${JSON.stringify(v)} is not one of ${values.join(', ')}`);
  return v as T;
}
function texts(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail(`${what} is not a list of strings`);
  return value as string[];
}
function regionList(value: unknown, what: string): number[] | null {
  if (value === null) return null;
  if (!Array.isArray(value) || value.some((v) => !Number.isSafeInteger(v) || (v as number) < 0)) fail(`${what} is not a list of region numbers`);
  return value as number[];
}
function regionsByNode(value: unknown, what: string): Record<string, number[] | null> {
  const raw = object(value, what);
  const out: Record<string, number[] | null> = {};
  for (const [node, list] of Object.entries(raw)) out[node] = regionList(list, `${what}.${node}`);
  return out;
}
function generation(value: unknown): GenerationState {
  const raw = object(value, 'generation');
  return { current: text(raw, 'current'), history: texts(raw.history, 'generation.history') };
}

function peerState(value: unknown): PeerState {
  const raw = object(value, 'peer state');
  return {
    nodeId: text(raw, 'nodeId'),
    priority: count(raw, 'priority'),
    generation: generation(raw.generation),
    dirty: regionsByNode(raw.dirty, 'dirty'),
    role: oneOf(raw, 'role', ROLES),
    accessState: oneOf(raw, 'accessState', ALUA_ACCESS_STATES),
    members: texts(raw.members, 'members'),
    roleSeq: count(raw, 'roleSeq'),
  };
}

/** One decoder per kind: each returns exactly the fields its message declares. */
const DECODERS: { [K in StateMessage['kind']]: (raw: Raw) => Extract<StateMessage, { kind: K }> } = {
  handshake: (raw) => ({ kind: 'handshake', state: peerState(raw.state) }),
  rehandshake: () => ({ kind: 'rehandshake' }),
  access: (raw) => ({ kind: 'access', role: oneOf(raw, 'role', ROLES), accessState: oneOf(raw, 'accessState', ALUA_ACCESS_STATES), roleSeq: count(raw, 'roleSeq') }),
  drop: (raw) => ({ kind: 'drop', nodeId: text(raw, 'nodeId'), from: text(raw, 'from'), next: text(raw, 'next'), reason: text(raw, 'reason') }),
  'join-prepare': (raw) => ({ kind: 'join-prepare', nodeId: text(raw, 'nodeId') }),
  'join-commit': (raw) => ({ kind: 'join-commit', nodeId: text(raw, 'nodeId') }),
  'join-abort': (raw) => ({ kind: 'join-abort', nodeId: text(raw, 'nodeId') }),
  'repair-list': (raw) => ({ kind: 'repair-list', nodeId: text(raw, 'nodeId') }),
  out: (raw) => ({ kind: 'out', reason: text(raw, 'reason') }),
  leaving: (raw) => ({ kind: 'leaving', reason: text(raw, 'reason') }),
  'resync-done': (raw) => ({
    kind: 'resync-done',
    generation: generation(raw.generation),
    reservations: raw.reservations,
    members: texts(raw.members, 'members'),
    ...(raw.outside === undefined ? {} : { outside: regionsByNode(raw.outside, 'outside') }),
  }),
  resolve: () => ({ kind: 'resolve' }),
};

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return fail('not JSON');
  }
}

export function encodeState(message: StateMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

export function decodeState(payload: Buffer): StateMessage {
  const raw = object(parse(payload), 'the message');
  const kind = raw.kind;
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(DECODERS, kind)) fail(`unknown kind ${JSON.stringify(kind)}`);
  return DECODERS[kind as StateMessage['kind']](raw);
}

function verdictOf(raw: Raw): Verdict {
  if (typeof raw.ok !== 'boolean') fail('ok is not a boolean');
  return raw.why === undefined ? { ok: raw.ok } : { ok: raw.ok, why: text(raw, 'why') };
}

/** The replies, each with its encoder and decoder. */
export const stateReplies = {
  peerState: { encode: (s: PeerState) => Buffer.from(JSON.stringify(s)), decode: (b: Buffer): PeerState => peerState(parse(b)) },
  verdict: { encode: (v: Verdict) => Buffer.from(JSON.stringify(v)), decode: (b: Buffer): Verdict => verdictOf(object(parse(b), 'the verdict')) },
  joinPrepare: {
    encode: (a: JoinPrepareAnswer) => Buffer.from(JSON.stringify(a)),
    decode: (b: Buffer): JoinPrepareAnswer => {
      const raw = object(parse(b), 'the join-prepare answer');
      const v = verdictOf(raw);
      return raw.dirty === undefined ? v : { ...v, dirty: regionsByNode(raw.dirty, 'dirty') };
    },
  },
  repairList: {
    encode: (r: RepairList) => Buffer.from(JSON.stringify(r)),
    decode: (b: Buffer): RepairList => ({ extents: regionList(object(parse(b), 'the repair list').extents, 'extents') ?? fail('extents is null') }),
  },
};
