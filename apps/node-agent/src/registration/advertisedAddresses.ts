/**
 * The addresses a node registers for partners and initiators to dial. A socket bound to a wildcard (0.0.0.0, ::)
 * is never registered as such: its port is registered on the `--advertise` / TANDEM_NODE_ADVERTISE hosts when they
 * are set, else on each of the host's non-loopback interface addresses (os.networkInterfaces()); with neither, the
 * node refuses to start.
 */
import * as os from 'os';

export class AdvertiseError extends Error {
  override readonly name = 'AdvertiseError';
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '::0', '0:0:0:0:0:0:0:0']);

export function isWildcardHost(host: string): boolean {
  return WILDCARDS.has(host.trim());
}

/** The host's addresses a partner on another machine could dial: not loopback, not IPv6 link-local (needs a zone). */
export function interfaceAddresses(family: 'IPv4' | 'any', interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const out: string[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv6' && (family === 'IPv4' || /^fe[89ab][0-9a-f]:/i.test(info.address))) continue;
      if (!out.includes(info.address)) out.push(info.address);
    }
  }
  return out;
}

/**
 * `bound` as registered: specific hosts unchanged; each wildcard-bound entry becomes one entry per advertised host
 * (same port and other fields). `what` names the kind of address in the error ("iSCSI portal", "sync link", …).
 */
export function advertisedAddresses<A extends { host: string; port: number }>(
  bound: A[],
  what: string,
  advertise: string[] | undefined,
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): A[] {
  const out: A[] = [];
  const seen = new Set<string>();
  const add = (a: A) => {
    const key = `${a.host}|${a.port}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(a);
    }
  };
  for (const address of bound) {
    if (!isWildcardHost(address.host)) {
      add(address);
      continue;
    }
    const hosts = advertise && advertise.length > 0 ? advertise : interfaceAddresses(address.host.includes(':') ? 'any' : 'IPv4', interfaces);
    if (hosts.length === 0) {
      throw new AdvertiseError(
        `the ${what} listens on ${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}, which partners cannot dial, and this host has no ` +
          'non-loopback interface address to register instead: set TANDEM_NODE_ADVERTISE (or --advertise) to the addresses other machines reach this node on, or listen on a specific address',
      );
    }
    for (const host of hosts) add({ ...address, host });
  }
  return out;
}
