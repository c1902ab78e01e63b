/**
 * iSCSI URLs as libiscsi writes them: iscsi://[user[%secret]@]host[:port]/target-iqn/lun[?key=value&…].
 * Query keys: target_user / target_password (mutual CHAP), header_digest / data_digest
 * (none, crc32c, crc32c-none, none-crc32c: the order is the order of preference offered).
 */

/** What the initiator offers for HeaderDigest / DataDigest, in order of preference. */
export type DigestOffer = 'None' | 'CRC32C' | 'CRC32C,None' | 'None,CRC32C';

export interface ChapSecrets {
  username: string;
  secret: string;
  /** Mutual CHAP: the name and secret the target must prove itself with. */
  mutualUsername?: string;
  mutualSecret?: string;
}

export interface IscsiUrl {
  host: string;
  port: number;
  targetName: string;
  lun: number;
  chap?: ChapSecrets;
  headerDigest?: DigestOffer;
  dataDigest?: DigestOffer;
}

export class IscsiUrlError extends Error {}

export const DEFAULT_ISCSI_PORT = 3260;

const DIGEST_WORDS: Record<string, DigestOffer> = {
  none: 'None',
  crc32c: 'CRC32C',
  'crc32c-none': 'CRC32C,None',
  'none-crc32c': 'None,CRC32C',
};

/** Parses a digest word (none, crc32c, crc32c-none, none-crc32c; any case) into an offer. */
export function parseDigestOffer(word: string): DigestOffer | undefined {
  return DIGEST_WORDS[word.toLowerCase()];
}

export function parseIscsiUrl(text: string): IscsiUrl {
  const fail = (why: string): never => {
    throw new IscsiUrlError(`bad iSCSI URL "${redact(text)}": ${why} (expected iscsi://[user%secret@]host[:port]/iqn/lun)`);
  };
  if (!/^iscsi:\/\//i.test(text)) fail('it must start with iscsi://');
  let rest = text.slice('iscsi://'.length);
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  if (slash < 0) fail('no target name');
  let authority = rest.slice(0, slash);
  const path = rest.slice(slash + 1);

  let chap: ChapSecrets | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const pct = userinfo.indexOf('%');
    if (pct < 0) fail('a CHAP user needs a secret (user%secret@)');
    chap = { username: decode(userinfo.slice(0, pct)), secret: decode(userinfo.slice(pct + 1)) };
    if (!chap.username) fail('empty CHAP user');
  }

  let host: string;
  let portText = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) fail('unterminated [IPv6] address');
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after && !after.startsWith(':')) fail('junk after the IPv6 address');
    portText = after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon >= 0 ? authority.slice(0, colon) : authority;
    portText = colon >= 0 ? authority.slice(colon + 1) : '';
  }
  if (!host) fail('no host');
  let port = DEFAULT_ISCSI_PORT;
  if (portText !== '') {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) fail(`port "${portText}" is not 1-65535`);
    port = Number(portText);
  }

  const parts = path.split('/');
  if (parts.length !== 2 || !parts[0]) fail('the path must be /target-iqn/lun');
  const targetName = decode(parts[0]);
  if (!/^\d{1,5}$/.test(parts[1]) || Number(parts[1]) > 16383) fail(`LUN "${parts[1]}" is not 0-16383`);
  const lun = Number(parts[1]);

  const url: IscsiUrl = { host, port, targetName, lun };
  if (chap) url.chap = chap;
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1).replace(/\+/g, ' '));
    switch (key) {
      case 'target_user':
      case 'target_password':
        if (!url.chap) fail(`${key} (mutual CHAP) needs user%secret@ as well`);
        if (key === 'target_user') url.chap!.mutualUsername = value;
        else url.chap!.mutualSecret = value;
        break;
      case 'header_digest':
      case 'data_digest': {
        const offer = parseDigestOffer(value) ?? fail(`${key} must be none, crc32c, crc32c-none or none-crc32c`);
        if (key === 'header_digest') url.headerDigest = offer;
        else url.dataDigest = offer;
        break;
      }
      default:
        fail(`unknown parameter "${key}"`);
    }
  }
  if (url.chap && (url.chap.mutualUsername === undefined) !== (url.chap.mutualSecret === undefined)) {
    fail('mutual CHAP needs both target_user and target_password');
  }
  return url;
}

/** host:port/iqn/lun form for logs and reports: never the secrets. */
export function describeIscsiUrl(u: IscsiUrl): string {
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  return `iscsi://${u.chap ? `${u.chap.username}@` : ''}${host}:${u.port}/${u.targetName}/${u.lun}`;
}

/** The URL text with any secret blanked out, for error messages. */
export function redact(text: string): string {
  return text.replace(/(\/\/[^/@%]*)%[^@/]*@/, '$1%***@').replace(/(target_password=)[^&]*/, '$1***');
}

/** Percent-decodes the valid %XX runs and leaves any other '%' as it is (libiscsi takes secrets literally). */
function decode(s: string): string {
  return s.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}
