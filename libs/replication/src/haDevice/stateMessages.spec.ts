// State messages round-trip through their encoders and decoders; malformed or forged ones are refused by name.
import { decodeState, encodeState, stateReplies, StateMessageError, type PeerState, type StateMessage } from './stateMessages';

const peer: PeerState = {
  nodeId: 'node-a',
  priority: 200,
  generation: { current: 'g2', history: ['g1'] },
  dirty: { 'node-b': [1, 2, 3], 'node-c': null },
  role: 'serving',
  accessState: 'optimized',
  members: ['node-b'],
  roleSeq: 7,
};

describe('state messages', () => {
  const messages: StateMessage[] = [
    { kind: 'handshake', state: peer },
    { kind: 'rehandshake' },
    { kind: 'access', role: 'blocked', accessState: 'unavailable', roleSeq: 3 },
    { kind: 'drop', nodeId: 'node-b', from: 'g1', next: 'g2', reason: 'sync links down' },
    { kind: 'join-prepare', nodeId: 'node-b' },
    { kind: 'join-commit', nodeId: 'node-b' },
    { kind: 'join-abort', nodeId: 'node-b' },
    { kind: 'repair-list', nodeId: 'node-b' },
    { kind: 'out', reason: 'failed a write' },
    { kind: 'leaving', reason: 'shutting down' },
    { kind: 'resync-done', generation: { current: 'g3', history: [] }, reservations: { generation: 4 }, members: ['node-a', 'node-b'], outside: { 'node-c': [5] } },
    { kind: 'resync-done', generation: { current: 'g3', history: [] }, reservations: undefined, members: ['node-a'] },
    { kind: 'resolve' },
  ];
  it.each(messages.map((m) => [m.kind, m] as const))('%s round-trips', (_kind, message) => {
    expect(decodeState(encodeState(message))).toEqual(JSON.parse(JSON.stringify(message)));
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), /not JSON/],
    ['not an object', Buffer.from('[1]'), /is not an object/],
    ['an unknown kind', Buffer.from('{"kind":"format-disk"}'), /unknown kind "format-disk"/],
    ['no kind', Buffer.from('{}'), /unknown kind undefined/],
    ['an inherited kind', Buffer.from('{"kind":"toString"}'), /unknown kind "toString"/],
    ['a role out of the set', Buffer.from('{"kind":"access","role":"king","accessState":"optimized","roleSeq":1}'), /role "king" is not one of/],
    ['an ALUA state out of the set', Buffer.from('{"kind":"access","role":"serving","accessState":"fast","roleSeq":1}'), /accessState "fast"/],
    ['a roleSeq that is not a number', Buffer.from('{"kind":"access","role":"serving","accessState":"optimized","roleSeq":"1"}'), /roleSeq is not a number/],
    ['a drop without its next generation', Buffer.from('{"kind":"drop","nodeId":"b","from":"g1","reason":"x"}'), /next is not a string/],
    ['a handshake with bad region lists', Buffer.from(JSON.stringify({ kind: 'handshake', state: { ...peer, dirty: { b: [-1] } } })), /dirty\.b is not a list of region numbers/],
    ['a handshake without a generation', Buffer.from(JSON.stringify({ kind: 'handshake', state: { ...peer, generation: undefined } })), /generation is not an object/],
  ])('refuses %s', (_what, payload, message) => {
    expect(() => decodeState(payload)).toThrow(StateMessageError);
    expect(() => decodeState(payload)).toThrow(message);
  });
});

describe('state replies', () => {
  it('round-trip', () => {
    expect(stateReplies.peerState.decode(stateReplies.peerState.encode(peer))).toEqual(peer);
    expect(stateReplies.verdict.decode(stateReplies.verdict.encode({ ok: false, why: 'generation moved' }))).toEqual({ ok: false, why: 'generation moved' });
    expect(stateReplies.verdict.decode(stateReplies.verdict.encode({ ok: true }))).toEqual({ ok: true });
    expect(stateReplies.joinPrepare.decode(stateReplies.joinPrepare.encode({ ok: true, dirty: { b: [1], c: null } }))).toEqual({ ok: true, dirty: { b: [1], c: null } });
    expect(stateReplies.repairList.decode(stateReplies.repairList.encode({ extents: [0, 9] }))).toEqual({ extents: [0, 9] });
  });
  it('refuse malformed answers', () => {
    expect(() => stateReplies.verdict.decode(Buffer.from('{"ok":"yes"}'))).toThrow(/ok is not a boolean/);
    expect(() => stateReplies.repairList.decode(Buffer.from('{"extents":null}'))).toThrow(/extents is null/);
    expect(() => stateReplies.peerState.decode(Buffer.from('{"nodeId":1}'))).toThrow(/nodeId is not a string/);
  });
});
