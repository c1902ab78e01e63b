import { ServeArgsError, buildServeConfig, parseChap, parseListen, parseLunSpec } from './parseServeArgs';

describe('tandem serve flags', () => {
  it('reads portals with IPv4, IPv6 and a portal group', () => {
    expect(parseListen('127.0.0.1:3260')).toEqual({ host: '127.0.0.1', port: 3260, portalGroupTag: 1 });
    expect(parseListen('[::1]:3261,tpg=2')).toEqual({ host: '::1', port: 3261, portalGroupTag: 2 });
    expect(() => parseListen('127.0.0.1:99999')).toThrow(ServeArgsError);
    expect(() => parseListen('host:1,bogus')).toThrow(/unknown option/);
  });

  it('reads LUN specs', () => {
    expect(parseLunSpec('1=flat:/tmp/d.img,size=1GiB,sector=4096,create,thin')).toEqual({
      lun: 1, deviceId: undefined, blockSize: 4096, readOnly: false,
      store: { kind: 'flat', path: '/tmp/d.img', sizeBytes: 1073741824, create: true, thin: true },
    });
    expect(() => parseLunSpec('0=flat:/x,sector=1024')).toThrow(/512 or 4096/);
    expect(parseLunSpec('0=flat:/x,physical=512')).toMatchObject({ blockSize: 512, physicalBlockSize: 512 });
    expect(() => parseLunSpec('0=flat:/x,sector=4096,physical=512')).toThrow(/smaller than the 4096-byte sector/);
    expect(() => parseLunSpec('0=flat:/x,create')).toThrow(/needs a size/);
    expect(parseLunSpec('0=lsfs:/srv/x.lsfs,size=1TiB,create')).toMatchObject({ store: { kind: 'lsfs', path: '/srv/x.lsfs', sizeBytes: 2 ** 40, create: true } });
    expect(() => parseLunSpec('0=lsfs:/x,thin')).toThrow(/always thin/);
    expect(() => parseLunSpec('0=zfs:/x')).toThrow(/not available/);
    expect(parseLunSpec('0=flat:/x,cache=wb:512MiB').cache).toEqual({ mode: 'write-back', sizeBytes: 512 * 2 ** 20 });
    expect(parseLunSpec('0=flat:/x,cache=wt:128MiB').cache).toEqual({ mode: 'write-through', sizeBytes: 128 * 2 ** 20 });
    expect(() => parseLunSpec('0=flat:/x,cache=fast:1GiB')).toThrow(/cache=MODE:SIZE/);
    expect(() => parseLunSpec('0=flat:/x,cache=wb:lots')).toThrow(/cache size/);
    expect(() => parseLunSpec('zero=flat:/x')).toThrow(ServeArgsError);
  });

  it('reads ALUA states per portal group', () => {
    expect(parseLunSpec('0=flat:/x,alua=1:optimized/2:non-optimized').alua).toEqual({ 1: 'optimized', 2: 'non-optimized' });
    expect(parseLunSpec('0=flat:/x,alua=02:standby/3:unavailable').alua).toEqual({ 2: 'standby', 3: 'unavailable' });
    expect(parseLunSpec('0=flat:/x').alua).toBeUndefined();
    expect(() => parseLunSpec('0=flat:/x,alua=1:offline')).toThrow(/TPG:STATE/);
    expect(() => parseLunSpec('0=flat:/x,alua=1:standby/01:optimized')).toThrow(/twice/);
    expect(() => parseLunSpec('0=flat:/x,alua=0:standby')).toThrow(ServeArgsError);
    expect(() => parseLunSpec('0=flat:/x,alua=')).toThrow(ServeArgsError);
  });

  it('reads one-way and mutual CHAP', () => {
    expect(parseChap('u:s')).toEqual({ username: 'u', secret: 's' });
    expect(parseChap('u:s:t:m')).toEqual({ username: 'u', secret: 's', mutualUsername: 't', mutualSecret: 'm' });
    expect(() => parseChap('u')).toThrow(ServeArgsError);
  });

  it('attaches --lun and --chap to the --target before them', () => {
    const cfg = buildServeConfig([
      { flag: 'chap', value: 'all:shared-secret-1' },
      { flag: 'target', value: 'iqn.2026-11.io.tandem:a' },
      { flag: 'lun', value: '0=flat:/a0' },
      { flag: 'target', value: 'iqn.2026-11.io.tandem:b' },
      { flag: 'lun', value: '0=flat:/b0' },
      { flag: 'lun', value: '1=flat:/b1' },
      { flag: 'chap', value: 'bob:bob-secret-123' },
    ]);
    expect(cfg.portals).toEqual([{ host: '0.0.0.0', port: 3260, portalGroupTag: 1 }]);
    expect(cfg.targets.map((t) => [t.name, t.luns.length, t.chap?.username])).toEqual([
      ['iqn.2026-11.io.tandem:a', 1, 'all'],
      ['iqn.2026-11.io.tandem:b', 2, 'bob'],
    ]);
    expect(() => buildServeConfig([{ flag: 'lun', value: '0=flat:/x' }])).toThrow(/before any --target/);
    expect(() => buildServeConfig([{ flag: 'target', value: 'iqn.2026-11.io.tandem:a' }])).toThrow(/has no --lun/);
  });
});
