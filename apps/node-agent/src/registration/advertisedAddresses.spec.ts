/** A node never registers a wildcard address: advertised hosts, else interface addresses, else a clear refusal. */
import type { NetworkInterfaceInfo } from 'os';
import { AdvertiseError, advertisedAddresses, interfaceAddresses, isWildcardHost } from './advertisedAddresses';

const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  (family === 'IPv4' ? { address, family, internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:01', cidr: null } : { address, family, internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:01', cidr: null, scopeid: 0 }) as NetworkInterfaceInfo;

const host = {
  lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
  eth0: [nic('192.0.2.10', 'IPv4'), nic('fe80::1', 'IPv6'), nic('2001:db8::10', 'IPv6')],
  eth1: [nic('198.51.100.7', 'IPv4')],
};
const loopbackOnly = { lo: host.lo };

describe('advertised addresses', () => {
  it('knows the wildcards', () => {
    expect(['0.0.0.0', '::', '[::]'].every(isWildcardHost)).toBe(true);
    expect(['127.0.0.1', '::1', '10.0.0.1'].some(isWildcardHost)).toBe(false);
  });

  it('registers specific binds unchanged', () => {
    expect(advertisedAddresses([{ host: '10.0.0.5', port: 3260, portalGroupTag: 1 }], 'iSCSI portal', undefined, host)).toEqual([{ host: '10.0.0.5', port: 3260, portalGroupTag: 1 }]);
  });

  it('puts the advertised hosts in place of a wildcard, keeping port and tag', () => {
    expect(advertisedAddresses([{ host: '0.0.0.0', port: 3260, portalGroupTag: 2 }, { host: '10.0.0.5', port: 3270, portalGroupTag: 2 }], 'iSCSI portal', ['10.0.0.5', 'storage-a.lan'], host)).toEqual([
      { host: '10.0.0.5', port: 3260, portalGroupTag: 2 },
      { host: 'storage-a.lan', port: 3260, portalGroupTag: 2 },
      { host: '10.0.0.5', port: 3270, portalGroupTag: 2 },
    ]);
  });

  it('without advertised hosts, expands 0.0.0.0 to the non-loopback IPv4 addresses and :: to every dialable address', () => {
    expect(advertisedAddresses([{ host: '0.0.0.0', port: 3262 }], 'sync link', undefined, host)).toEqual([
      { host: '192.0.2.10', port: 3262 },
      { host: '198.51.100.7', port: 3262 },
    ]);
    expect(interfaceAddresses('any', host)).toEqual(['192.0.2.10', '2001:db8::10', '198.51.100.7']);
    expect(advertisedAddresses([{ host: '::', port: 3263 }], 'heartbeat link', [], host).map((a) => a.host)).toEqual(['192.0.2.10', '2001:db8::10', '198.51.100.7']);
  });

  it('refuses a wildcard when there is nothing to register instead, saying what to set', () => {
    const run = () => advertisedAddresses([{ host: '0.0.0.0', port: 3260 }], 'iSCSI portal', undefined, loopbackOnly);
    expect(run).toThrow(AdvertiseError);
    expect(run).toThrow('the iSCSI portal listens on 0.0.0.0:3260, which partners cannot dial, and this host has no non-loopback interface address to register instead: set TANDEM_NODE_ADVERTISE (or --advertise)');
    expect(() => advertisedAddresses([{ host: '::', port: 3262 }], 'sync link', undefined, loopbackOnly)).toThrow('the sync link listens on [::]:3262');
  });
});
