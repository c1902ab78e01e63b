import * as dgram from 'dgram';
import { SyncNetwork } from './syncNetwork';

const LOOP = '127.0.0.1';

async function network(nodeId: string): Promise<SyncNetwork> {
  const n = new SyncNetwork({ nodeId, syncListen: [], heartbeatListen: [{ host: LOOP, port: 0 }] });
  await n.start();
  return n;
}

/** A UDP port that is open but never answers: what a partner behind a cut link looks like. */
async function silentPort(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, LOOP, () => resolve()));
  return s;
}

/** A UDP port nobody listens on: a host that is up whose agent is gone. */
async function closedPort(): Promise<number> {
  const s = await silentPort();
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('heartbeat probe', () => {
  let a: SyncNetwork;
  let b: SyncNetwork;
  beforeEach(async () => {
    a = await network('node-a');
    b = await network('node-b');
  });
  afterEach(async () => {
    await a.stop();
    await b.stop();
  });

  it('ends as not answered, without throwing from its timer, when the network stops while it waits', async () => {
    // A node shutting down mid-probe: the retry timer used to send on a closed socket ("Not running") and crash.
    const silent = await silentPort();
    try {
      const probe = a.probeHeartbeat([{ host: LOOP, port: silent.address().port }], 5000);
      await a.stop();
      await expect(probe).resolves.toBe(false);
      a = await network('node-a'); // afterEach stops it again
    } finally {
      silent.close();
    }
  });

  it('is answered by a live partner', async () => {
    await expect(a.probeHeartbeat(b.heartbeatAddresses(), 5000)).resolves.toBe(true);
  });

  it('reports a partner whose agent is gone (port refused) without waiting out the timeout', async () => {
    const started = Date.now();
    await expect(a.probeHeartbeat([{ host: LOOP, port: await closedPort() }], 20_000)).resolves.toBe(false);
    // The refusal comes back in milliseconds; only the 20 s timeout could make this slow.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('waits out the timeout for a partner that stays silent, and still hears one address of several', async () => {
    const silent = await silentPort();
    try {
      const started = Date.now();
      await expect(a.probeHeartbeat([{ host: LOOP, port: silent.address().port }], 300)).resolves.toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      // One address refused, one answering: alive.
      await expect(a.probeHeartbeat([{ host: LOOP, port: await closedPort() }, ...b.heartbeatAddresses()], 5000)).resolves.toBe(true);
    } finally {
      silent.close();
    }
  });
});
