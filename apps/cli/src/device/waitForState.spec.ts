// device wait: polls to the state, a resync bar only on a terminal stream, none for a pipe; unknown id 3, timeout 1.
import { Writable } from 'stream';
import { CliError } from '../api/graphqlClient';
import { waitForState } from './waitForState';

const MiB = 1048576;

/** A device that resyncs 0 → 32 → 64 MiB of 64, then is ONLINE; it counts the reads. */
function resyncingDevice() {
  const steps = [0, 32, 64];
  let reads = 0;
  const request = async <T>(): Promise<T> => {
    const step = reads++;
    const online = step >= steps.length;
    const resyncs = online ? [] : [{ kind: 'FULL', sourceNodeId: 'a', targetNodeId: 'b', doneBytes: steps[step] * MiB, totalBytes: 64 * MiB, bytesPerSecond: 32 * MiB, etaSeconds: 1 }];
    return { device: { id: 'd1', state: online ? 'ONLINE' : 'RESYNCING', health: { resyncs } } } as T;
  };
  return { request, reads: () => reads };
}

/** A stream that says it is a terminal (or not) and keeps what is written to it. */
function stream(isTTY: boolean) {
  const chunks: string[] = [];
  const s = new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }) as Writable & { isTTY: boolean; columns: number };
  s.isTTY = isTTY;
  s.columns = 100;
  return { s, text: () => chunks.join('') };
}

describe('waitForState', () => {
  it('draws the resync bar on a terminal and returns the device once ONLINE (without its health)', async () => {
    const device = resyncingDevice();
    const tty = stream(true);
    const reached = await waitForState(device, 'd1', 'ONLINE', 10_000, { pollMs: 1, progress: tty.s });
    expect(reached).toEqual({ id: 'd1', state: 'ONLINE' });
    expect(device.reads()).toBe(4);
    expect(tty.text()).toMatch(/resync .* \d+% \| \d+\/64 MiB/);
  });

  it('draws nothing when there is no terminal', async () => {
    const device = resyncingDevice();
    const pipe = stream(false);
    expect(await waitForState(device, 'd1', 'ONLINE', 10_000, { pollMs: 1, progress: null })).toEqual({ id: 'd1', state: 'ONLINE' });
    // A non-terminal stream handed over anyway gets no bar either (cli-progress writes only to a TTY).
    await waitForState(resyncingDevice(), 'd1', 'ONLINE', 10_000, { pollMs: 1, progress: pipe.s });
    expect(pipe.text()).toBe('');
  });

  it('an unknown device is exit 3; not reaching the state in time is exit 1', async () => {
    const none = { request: async <T>(): Promise<T> => ({ device: null }) as T };
    await expect(waitForState(none, 'd9', 'ONLINE', 1000, { pollMs: 1, progress: null })).rejects.toMatchObject({ exitCode: 3 });
    const stuck = { request: async <T>(): Promise<T> => ({ device: { id: 'd1', state: 'DEGRADED', health: { resyncs: [] } } }) as T };
    const err = await waitForState(stuck, 'd1', 'ONLINE', 50, { pollMs: 5, progress: null }).catch((e: CliError) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ exitCode: 1, message: expect.stringMatching(/is DEGRADED, not ONLINE/) });
  });
});
