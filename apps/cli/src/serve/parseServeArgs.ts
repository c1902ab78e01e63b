/**
 * Turns `tandem serve` flags into a HostConfig. Order matters: each --lun and --chap belongs to the --target
 * before it; a --chap before any --target applies to every target that has none of its own.
 */
import { parseSize } from '@tandem/storage';
import { ALUA_CONFIG_STATES, HostConfigInput } from '@tandem/target-host';

export type ServeToken = { flag: 'listen' | 'target' | 'lun' | 'chap' | 'discovery-chap' | 'nop-interval' | 'nop-timeout'; value: string };

export class ServeArgsError extends Error {}

export function parseListen(value: string): { host: string; port: number; portalGroupTag: number } {
  const [addr, ...opts] = value.split(',');
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(addr) ?? /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+))$/.exec(addr);
  if (!m) throw new ServeArgsError(`--listen ${value}: expected HOST:PORT (e.g. 127.0.0.1:3260 or [::1]:3260)`);
  const host = m[1] ?? m[2];
  const port = m[3] === undefined ? 3260 : Number(m[3]);
  if (port > 65535) throw new ServeArgsError(`--listen ${value}: port ${port} is out of range`);
  let portalGroupTag = 1;
  for (const o of opts) {
    const [k, v] = o.split('=');
    if ((k === 'tpg' || k === 'tpgt') && /^\d+$/.test(v ?? '') && Number(v) >= 1 && Number(v) <= 65535) portalGroupTag = Number(v);
    else throw new ServeArgsError(`--listen ${value}: unknown option "${o}" (only tpg=N)`);
  }
  return { host, port, portalGroupTag };
}

export function parseLunSpec(value: string): HostConfigInput['targets'][number]['luns'][number] {
  const m = /^(\d+)=([a-z]+):(.+)$/.exec(value);
  if (!m) throw new ServeArgsError(`--lun ${value}: expected N=flat:/path/disk.img[,size=1GiB][,sector=4096][,create][,thin][,alua=1:optimized/2:standby] or N=lsfs:/path/dir[,size=…][,create][,snapshot=NAME]`);
  const lun = Number(m[1]);
  const kind = m[2];
  if (kind !== 'flat' && kind !== 'lsfs') throw new ServeArgsError(`--lun ${value}: store kind "${kind}" is not available (flat, lsfs)`);
  const [path, ...opts] = m[3].split(',');
  if (!path) throw new ServeArgsError(`--lun ${value}: the image path is empty`);
  let sizeBytes: number | undefined;
  let blockSize: 512 | 4096 = 512;
  let physicalBlockSize: 512 | 4096 | undefined;
  let create = false;
  let thin: boolean | undefined;
  let readOnly = false;
  let deviceId: string | undefined;
  let alua: Record<string, (typeof ALUA_CONFIG_STATES)[number]> | undefined;
  let cache: { mode: 'write-back' | 'write-through' | 'none'; sizeBytes: number } | undefined;
  let snapshot: string | undefined;
  for (const o of opts) {
    const eq = o.indexOf('=');
    const k = eq < 0 ? o : o.slice(0, eq);
    const v = eq < 0 ? undefined : o.slice(eq + 1);
    switch (k) {
      case 'size':
        try {
          sizeBytes = parseSize(v ?? '');
        } catch (e) {
          throw new ServeArgsError(`--lun ${value}: ${(e as Error).message}`);
        }
        break;
      case 'sector':
        if (v !== '512' && v !== '4096') throw new ServeArgsError(`--lun ${value}: sector size must be 512 or 4096, not ${v}`);
        blockSize = Number(v) as 512 | 4096;
        break;
      case 'physical':
        if (v !== '512' && v !== '4096') throw new ServeArgsError(`--lun ${value}: physical block size must be 512 or 4096, not ${v}`);
        physicalBlockSize = Number(v) as 512 | 4096;
        break;
      case 'create':
        create = true;
        break;
      case 'thin':
      case 'thick':
        if (kind === 'lsfs') throw new ServeArgsError(`--lun ${value}: LSFS stores are always thin`);
        thin = k === 'thin';
        break;
      case 'snapshot':
        if (kind !== 'lsfs') throw new ServeArgsError(`--lun ${value}: snapshots are an LSFS feature`);
        if (!v || !/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new ServeArgsError(`--lun ${value}: snapshot=NAME with 1-64 letters, digits or ._-`);
        snapshot = v;
        break;
      case 'ro':
      case 'readonly':
        readOnly = true;
        break;
      case 'id':
        if (!v || !/^[A-Za-z0-9._:-]{1,64}$/.test(v)) throw new ServeArgsError(`--lun ${value}: id must be 1-64 letters, digits or ._:-`);
        deviceId = v;
        break;
      case 'alua':
        alua = parseAluaOption(value, v ?? '');
        break;
      case 'cache': {
        // cache=wb:512MiB | wt:256MiB | none:128MiB (mode, RAM)
        const cm = /^(wb|wt|none):(.+)$/.exec(v ?? '');
        if (!cm) throw new ServeArgsError(`--lun ${value}: cache=MODE:SIZE with MODE wb (write-back), wt (write-through) or none, e.g. cache=wb:512MiB`);
        let sizeBytes: number;
        try {
          sizeBytes = parseSize(cm[2]);
        } catch (e) {
          throw new ServeArgsError(`--lun ${value}: cache size: ${(e as Error).message}`);
        }
        cache = { mode: cm[1] === 'wb' ? 'write-back' : cm[1] === 'wt' ? 'write-through' : 'none', sizeBytes };
        break;
      }
      default:
        throw new ServeArgsError(`--lun ${value}: unknown option "${o}"`);
    }
  }
  if (create && sizeBytes === undefined) throw new ServeArgsError(`--lun ${value}: "create" needs a size (e.g. size=1GiB)`);
  if (physicalBlockSize !== undefined && physicalBlockSize < blockSize) {
    throw new ServeArgsError(`--lun ${value}: physical block size ${physicalBlockSize} is smaller than the ${blockSize}-byte sector`);
  }
  return { lun, deviceId, blockSize, ...(physicalBlockSize ? { physicalBlockSize } : {}), readOnly, ...(alua ? { alua } : {}), ...(cache ? { cache } : {}), store: kind === 'lsfs' ? { kind: 'lsfs', path, sizeBytes, create, ...(snapshot ? { snapshot } : {}) } : { kind: 'flat', path, sizeBytes, create, thin } };
}

/** `alua=TPG:STATE[/TPG:STATE…]`, e.g. `alua=1:optimized/2:non-optimized`; groups not named stay optimized. */
export function parseAluaOption(lunSpec: string, value: string): Record<string, (typeof ALUA_CONFIG_STATES)[number]> {
  const states: Record<string, (typeof ALUA_CONFIG_STATES)[number]> = {};
  for (const part of value.split('/')) {
    const m = /^(\d{1,5}):([a-z-]+)$/.exec(part);
    const state = ALUA_CONFIG_STATES.find((s) => s === m?.[2]);
    if (!m || !state || Number(m[1]) < 1 || Number(m[1]) > 65535) {
      throw new ServeArgsError(`--lun ${lunSpec}: alua expects TPG:STATE[/TPG:STATE…] with STATE one of ${ALUA_CONFIG_STATES.join(', ')} (e.g. alua=1:optimized/2:standby)`);
    }
    const group = String(Number(m[1]));
    if (group in states) throw new ServeArgsError(`--lun ${lunSpec}: alua names port group ${group} twice`);
    states[group] = state;
  }
  return states;
}

export function parseChap(value: string, flag = '--chap') {
  // user:secret[:mutualuser:mutualsecret]; secrets may not contain ':'.
  const parts = value.split(':');
  if (parts.length !== 2 && parts.length !== 4) throw new ServeArgsError(`${flag}: expected user:secret[:mutualuser:mutualsecret]`);
  const [username, secret, mutualUsername, mutualSecret] = parts;
  if (!username || !secret) throw new ServeArgsError(`${flag}: user and secret must not be empty`);
  return parts.length === 4 ? { username, secret, mutualUsername, mutualSecret } : { username, secret };
}

export function buildServeConfig(tokens: ServeToken[]): HostConfigInput {
  const portals: HostConfigInput['portals'] = [];
  const targets: HostConfigInput['targets'] = [];
  let defaultChap: ReturnType<typeof parseChap> | undefined;
  let discoveryChap: ReturnType<typeof parseChap> | undefined;
  const seconds: { nopIntervalSeconds?: number; nopTimeoutSeconds?: number } = {};
  for (const t of tokens) {
    const current = targets[targets.length - 1];
    switch (t.flag) {
      case 'listen':
        portals.push(parseListen(t.value));
        break;
      case 'target':
        targets.push({ name: t.value, luns: [] });
        break;
      case 'lun':
        if (!current) throw new ServeArgsError(`--lun ${t.value} comes before any --target`);
        current.luns.push(parseLunSpec(t.value));
        break;
      case 'chap':
        if (current) current.chap = parseChap(t.value);
        else defaultChap = parseChap(t.value);
        break;
      case 'discovery-chap':
        discoveryChap = parseChap(t.value, '--discovery-chap');
        break;
      case 'nop-interval':
      case 'nop-timeout': {
        const n = Number(t.value);
        if (!/^\d+$/.test(t.value) || n < 1 || n > 3600) throw new ServeArgsError(`--${t.flag} ${t.value}: expected whole seconds from 1 to 3600`);
        seconds[t.flag === 'nop-interval' ? 'nopIntervalSeconds' : 'nopTimeoutSeconds'] = n;
        break;
      }
    }
  }
  if (portals.length === 0) portals.push({ host: '0.0.0.0', port: 3260, portalGroupTag: 1 });
  if (targets.length === 0) throw new ServeArgsError('at least one --target with a --lun is needed');
  for (const t of targets) {
    if (t.luns.length === 0) throw new ServeArgsError(`--target ${t.name} has no --lun`);
    if (!t.chap && defaultChap) t.chap = defaultChap;
  }
  return { portals, targets, discoveryChap, ...seconds };
}
