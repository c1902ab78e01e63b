import { BenchUsageError, benchOptionsFrom, parseBlockSize } from './benchOptions';

const URL = 'iscsi://127.0.0.1:3260/iqn.2026-11.io.tandem:mp/0';

describe('benchOptionsFrom', () => {
  it('applies the defaults', () => {
    expect(benchOptionsFrom({ path: [URL] })).toMatchObject({
      policy: 'round-robin', pattern: 'randread', blockSize: 4096, queueDepth: 32, durationMs: 10000,
      headerDigest: 'None', dataDigest: 'None', commandTimeoutMs: 10000, ioDeadlineMs: 30000, json: false, progress: true,
    });
  });

  it('reads every flag', () => {
    const o = benchOptionsFrom({
      path: [URL, URL.replace('3260', '3261')], policy: 'lqd', rw: 'write', bs: '64k', qd: '8', seconds: '2.5', span: '1m',
      headerDigest: 'crc32c', dataDigest: 'none-crc32c', initiatorName: 'iqn.2026-11.io.tandem:bench', commandTimeout: '3',
      ioDeadline: '12', json: true, progress: false,
    });
    expect(o).toMatchObject({
      policy: 'least-queue-depth', pattern: 'write', blockSize: 65536, queueDepth: 8, durationMs: 2500, spanBytes: 1048576,
      headerDigest: 'CRC32C', dataDigest: 'None,CRC32C', commandTimeoutMs: 3000, ioDeadlineMs: 12000, json: true, progress: false,
    });
    expect(o.paths.map((p) => p.port)).toEqual([3260, 3261]);
    expect(benchOptionsFrom({ path: [URL], policy: 'failover' }).policy).toBe('failover');
    expect(benchOptionsFrom({ path: [URL], policy: 'round-robin' }).policy).toBe('round-robin');
  });

  it.each([
    [{}, /at least one --path/],
    [{ path: ['iscsi://h/iqn.a:b'] }, /--path: bad iSCSI URL/],
    [{ path: [URL], policy: 'random' }, /--policy must be rr, failover or lqd/],
    [{ path: [URL], rw: 'trim' }, /--rw must be/],
    [{ path: [URL], bs: '4q' }, /--bs "4q" is not a size/],
    [{ path: [URL], bs: '1000' }, /multiple of 512/],
    [{ path: [URL], qd: '0' }, /--qd must be a whole number from 1 to 1024/],
    [{ path: [URL], qd: '2.5' }, /--qd/],
    [{ path: [URL], seconds: '0' }, /--seconds/],
    [{ path: [URL], seconds: 'ten' }, /--seconds/],
    [{ path: [URL], span: '2k', bs: '4k' }, /--span must be at least one --bs/],
    [{ path: [URL], headerDigest: 'md5' }, /--header-digest/],
    [{ path: [URL], initiatorName: 'bob' }, /--initiator-name/],
    [{ path: [URL], rw: 'randrw', rwmixread: '101' }, /--rwmixread must be a whole number from 0 to 100/],
    [{ path: [URL], rw: 'randread', rwmixread: '70' }, /--rwmixread goes with --rw randrw only/],
  ])('refuses %p', (flags, why) => {
    expect(() => benchOptionsFrom(flags)).toThrow(BenchUsageError);
    expect(() => benchOptionsFrom(flags)).toThrow(why);
  });

  it('reads the randrw mix, 50 % reads unless --rwmixread says otherwise', () => {
    expect(benchOptionsFrom({ path: [URL], rw: 'randrw', rwmixread: '70' })).toMatchObject({ pattern: 'randrw', readPercent: 70 });
    expect(benchOptionsFrom({ path: [URL], rw: 'RandRW' }).readPercent).toBe(50);
    expect(benchOptionsFrom({ path: [URL], rw: 'randread' }).readPercent).toBeUndefined();
  });

  it('reads fio-style sizes in powers of two', () => {
    expect([parseBlockSize('512', 'x'), parseBlockSize('4k', 'x'), parseBlockSize('4KiB', 'x'), parseBlockSize('1m', 'x'), parseBlockSize('2G', 'x')])
      .toEqual([512, 4096, 4096, 1048576, 2 * 1024 ** 3]);
  });
});
