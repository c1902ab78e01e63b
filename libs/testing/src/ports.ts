// Free TCP ports for tests, so runs never collide with each other or with a target on 3260.
//
// Ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range), never from it: a port handed
// out by bind(0) is an ephemeral one, and once the test's server on it stops (a node killed and restarted on the
// same port), any outgoing connection on the machine — a partner redialling, an initiator — may be given that very
// port as its local end, and the restart then fails with EADDRINUSE. Below the range the kernel never hands a port
// to an outgoing connection, so only another listener can take it. A port is handed out once per test process.
import * as fs from 'fs';
import * as net from 'net';

const LOWEST = 10_000;
const handed = new Set<number>();

/** The first port of the kernel's ephemeral range (49152, the IANA range, where /proc does not say). */
export function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux: assume the IANA range
  }
  return 49_152;
}

function listenOnce(port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/** A TCP port nothing listens on at `host` right now, below the ephemeral range when there is room there. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const highest = ephemeralLow() - 1;
  if (highest - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
      if (handed.has(port)) continue;
      if ((await listenOnce(port, host)) === port) {
        handed.add(port);
        return port;
      }
    }
  }
  // No room below the ephemeral range (an unusual sysctl), or nothing free there: any port the kernel picks.
  const port = await listenOnce(0, host);
  if (port === null) throw new Error(`no free TCP port on ${host}`);
  return port;
}
