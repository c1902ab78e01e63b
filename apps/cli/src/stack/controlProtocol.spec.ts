import { checkNodeName, controlExitCode, controlSocketInDataDir, parseControlReply, parseControlRequest } from './controlProtocol';

describe('control protocol', () => {
  it('parses kill and restart requests', () => {
    expect(parseControlRequest('{"verb":"kill","node":"node-b"}')).toEqual({ verb: 'kill', node: 'node-b' });
    expect(parseControlRequest('{"verb":"restart","node":"node-a"}')).toEqual({ verb: 'restart', node: 'node-a' });
  });

  it('answers malformed requests with BAD_REQUEST and a reason', () => {
    expect(parseControlRequest('kill node-b')).toEqual({ ok: false, code: 'BAD_REQUEST', message: 'expected one JSON object per line' });
    expect(parseControlRequest('{"verb":"stop","node":"node-b"}')).toMatchObject({ ok: false, code: 'BAD_REQUEST', message: 'verb "stop": expected one of kill, restart' });
    expect(parseControlRequest('{"verb":"kill"}')).toMatchObject({ ok: false, code: 'BAD_REQUEST', message: 'node: expected a node name' });
    expect(parseControlRequest('null')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('checks node names before asking the stack', () => {
    expect(checkNodeName('node-b')).toBeUndefined();
    for (const bad of ['', 'b', 'node-B', 'node-ab', 'node-1', ' node-a']) expect(checkNodeName(bad)).toMatch(/expected the stack's name for it, e.g. node-a or node-b/);
  });

  it('reads replies, and nothing else', () => {
    expect(parseControlReply('{"ok":true,"message":"done"}')).toEqual({ ok: true, message: 'done' });
    expect(parseControlReply('{"ok":false,"code":"ALREADY_DOWN","message":"down"}')).toEqual({ ok: false, code: 'ALREADY_DOWN', message: 'down' });
    for (const other of ['', 'HTTP/1.1 400', '{"ok":true}', '{"ok":false,"message":"no code"}']) expect(parseControlReply(other)).toBeUndefined();
  });

  it('exit codes: 0 done, 2 bad input, 1 anything the stack could not do', () => {
    expect(controlExitCode({ ok: true, message: '' })).toBe(0);
    expect(controlExitCode({ ok: false, code: 'UNKNOWN_NODE', message: '' })).toBe(2);
    expect(controlExitCode({ ok: false, code: 'BAD_REQUEST', message: '' })).toBe(2);
    for (const code of ['ALREADY_DOWN', 'STOPPING', 'FAILED'] as const) expect(controlExitCode({ ok: false, code, message: '' })).toBe(1);
  });

  it('puts the socket in the data directory unless the path is too long for a socket address', () => {
    expect(controlSocketInDataDir('/work/.tandem')).toBe('/work/.tandem/stack.sock');
    expect(controlSocketInDataDir(`/${'d'.repeat(95)}`)).toBe(`/${'d'.repeat(95)}/stack.sock`);
    expect(controlSocketInDataDir(`/${'d'.repeat(96)}`)).toBeUndefined();
  });
});
