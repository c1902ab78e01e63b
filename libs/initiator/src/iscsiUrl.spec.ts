import { IscsiUrlError, describeIscsiUrl, parseIscsiUrl, redact } from './iscsiUrl';

describe('parseIscsiUrl', () => {
  it('reads host, port, target and LUN, with the default port', () => {
    expect(parseIscsiUrl('iscsi://127.0.0.1:3261/iqn.2026-11.io.tandem:mp/3')).toEqual({ host: '127.0.0.1', port: 3261, targetName: 'iqn.2026-11.io.tandem:mp', lun: 3 });
    expect(parseIscsiUrl('iscsi://10.0.0.1/iqn.2026-11.io.tandem:x/0').port).toBe(3260);
    expect(parseIscsiUrl('iscsi://[::1]:3262/iqn.2026-11.io.tandem:x/0')).toMatchObject({ host: '::1', port: 3262 });
  });

  it('reads CHAP credentials as libiscsi writes them, mutual ones from the query', () => {
    const u = parseIscsiUrl('iscsi://al%20ice%s3cr%40t%25@h:1/iqn.a:b/0?target_user=tgt&target_password=p%26w');
    expect(u.chap).toEqual({ username: 'al', secret: '20ice%s3cr@t%', mutualUsername: 'tgt', mutualSecret: 'p&w' });
    expect(parseIscsiUrl('iscsi://alice%s3cr%40t@h/iqn.a:b/0').chap).toEqual({ username: 'alice', secret: 's3cr@t' });
    expect(describeIscsiUrl(u)).toBe('iscsi://al@h:1/iqn.a:b/0');
  });

  it('reads digest preferences', () => {
    expect(parseIscsiUrl('iscsi://h/iqn.a:b/0?header_digest=crc32c&data_digest=none-crc32c')).toMatchObject({ headerDigest: 'CRC32C', dataDigest: 'None,CRC32C' });
  });

  it.each([
    ['http://h/iqn.a:b/0', /iscsi:\/\//],
    ['iscsi://h', /no target/],
    ['iscsi://h/iqn.a:b', /\/target-iqn\/lun/],
    ['iscsi://h/iqn.a:b/x', /LUN "x"/],
    ['iscsi://h:0/iqn.a:b/0', /port "0"/],
    ['iscsi://h:99999/iqn.a:b/0', /port/],
    ['iscsi://alice@h/iqn.a:b/0', /needs a secret/],
    ['iscsi://h/iqn.a:b/0?target_user=x&target_password=y', /needs user%secret@/],
    ['iscsi://u%s@h/iqn.a:b/0?target_user=x', /both target_user and target_password/],
    ['iscsi://h/iqn.a:b/0?header_digest=md5', /header_digest/],
    ['iscsi://h/iqn.a:b/0?color=blue', /unknown parameter "color"/],
  ])('refuses %s', (text, why) => {
    expect(() => parseIscsiUrl(text)).toThrow(IscsiUrlError);
    expect(() => parseIscsiUrl(text)).toThrow(why);
  });

  it('keeps secrets out of its error messages', () => {
    expect(redact('iscsi://alice%topsecret@h/iqn.a:b/0?target_password=other')).toBe('iscsi://alice%***@h/iqn.a:b/0?target_password=***');
    expect(() => parseIscsiUrl('iscsi://alice%topsecret@h/iqn.a:b/z')).toThrow(/^(?!.*topsecret)/);
  });
});
