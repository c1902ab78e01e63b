/**
 * `tandem device create-ha` flags to a CreateHaDeviceInput, as pure functions: `--node A[:priority]` (2 or 3),
 * per-node `--sync`/`--heartbeat NODE=HOST:PORT[,HOST:PORT]`, `--paths NODE=…`, `--replica-store NODE=…`,
 * `--witness HOST:PORT`, and the enums' lower-case, dashed spellings (`write-back`, `node-majority`, `sync-from`).
 */
import { CliError, EXIT } from '../api/graphqlClient';

export interface Address {
  host: string;
  port: number;
}

export interface NodeSpec {
  ref: string;
  priority?: number;
}

const bad = (message: string): CliError => new CliError(message, EXIT.badInput);

/** `node-a`, `node-a:100`, `3f2c…:50`. */
export function parseNodeSpec(text: string): NodeSpec {
  const m = /^(.+?)(?::(\d+))?$/.exec(text.trim());
  if (!m || m[1] === '') throw bad(`--node "${text}": expected NAME-OR-ID or NAME-OR-ID:PRIORITY`);
  if (m[2] === undefined) return { ref: m[1] };
  const priority = Number(m[2]);
  if (priority > 255) throw bad(`--node "${text}": a priority is 0..255`);
  return { ref: m[1], priority };
}

/**
 * Priorities for the nodes in order: the given ones, and for the others the highest free value counting down
 * from 100 in steps of 10 (the first node listed wins a split unless told otherwise). Equal ones are refused.
 */
export function assignPriorities(specs: readonly NodeSpec[]): number[] {
  if (specs.length < 2 || specs.length > 3) throw bad(`a HA device has 2 or 3 replicas: give --node two or three times (got ${specs.length})`);
  const given = new Set(specs.flatMap((s) => (s.priority === undefined ? [] : [s.priority])));
  if (given.size !== specs.filter((s) => s.priority !== undefined).length) throw bad('the --node priorities must differ, so that a split always has one winner');
  let next = 100;
  return specs.map((s) => {
    if (s.priority !== undefined) return s.priority;
    while (given.has(next)) next -= 10;
    given.add(next);
    return next;
  });
}

/** `HOST:PORT` or `[V6]:PORT`. */
export function parseAddress(text: string, flag: string): Address {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw bad(`${flag} "${text}": expected HOST:PORT (port 1..65535), e.g. 10.0.0.1:3261 or [fd00::1]:3261`);
  return { host: m[1] ?? m[2], port };
}

/** `NODE=VALUE` flags (repeatable) into a map keyed by the node reference as written. */
export function parsePerNode(values: readonly string[], flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw bad(`${flag} "${v}": expected NODE=VALUE`);
    const node = v.slice(0, eq);
    if (out.has(node)) throw bad(`${flag} given twice for ${node}`);
    out.set(node, v.slice(eq + 1));
  }
  return out;
}

/** `host:port,host:port` for one node's link. */
export function parseAddressList(text: string, flag: string): Address[] {
  return text.split(',').map((a) => parseAddress(a, flag));
}

/** A lower-case, dashed spelling (`write-back`) of one of an enum's values (`WRITE_BACK`). */
export function enumValue(text: string, allowed: readonly string[], flag: string): string {
  const value = text.trim().toUpperCase().replace(/-/g, '_');
  if (!allowed.includes(value)) throw bad(`${flag} "${text}": one of ${allowed.map((a) => a.toLowerCase().replace(/_/g, '-')).join(', ')}`);
  return value;
}

export const CACHE_MODES = ['NONE', 'WRITE_THROUGH', 'WRITE_BACK'] as const;
export const STORE_KINDS = ['FLAT', 'LSFS'] as const;
export const STRATEGIES = ['HEARTBEAT', 'NODE_MAJORITY'] as const;
export const INITIAL_SYNCS = ['CLEAR_BOTH', 'SYNC_FROM', 'NONE'] as const;
export const PATH_PREFERENCES = ['OPTIMIZED', 'NON_OPTIMIZED'] as const;

export interface HaFlags {
  cluster: string;
  name: string;
  sizeBytes: number;
  node: string[];
  sync?: string[];
  heartbeat?: string[];
  paths?: string[];
  replicaStore?: string[];
  strategy?: string;
  witness?: string[];
  store?: string;
  sector?: string;
  cache?: string;
  initialSync?: string;
  syncFrom?: string;
}

/**
 * The mutation's input from the flags, given how each node reference resolved (`ids[i]` for `--node` i, and
 * `resolve` for the references in per-node flags and --sync-from). Per-node flags must name a --node.
 */
export function buildHaInput(flags: HaFlags, clusterId: string, ids: readonly string[], resolve: (ref: string) => string): Record<string, unknown> {
  const specs = flags.node.map(parseNodeSpec);
  const priorities = assignPriorities(specs);
  if (new Set(ids).size !== ids.length) throw bad('each --node must be a different node');
  const perNode = (values: string[] | undefined, flag: string): Map<string, string> => {
    const byId = new Map<string, string>();
    for (const [ref, value] of parsePerNode(values ?? [], flag)) {
      const id = resolve(ref);
      if (!ids.includes(id)) throw bad(`${flag} ${ref}=…: ${ref} is not one of the --node nodes`);
      byId.set(id, value);
    }
    return byId;
  };
  const sync = perNode(flags.sync, '--sync');
  const heartbeat = perNode(flags.heartbeat, '--heartbeat');
  const paths = perNode(flags.paths, '--paths');
  const replicaStore = perNode(flags.replicaStore, '--replica-store');
  const replicas = ids.map((nodeId, i) => ({
    nodeId,
    priority: priorities[i],
    ...(sync.has(nodeId) ? { syncAddresses: parseAddressList(sync.get(nodeId)!, '--sync') } : {}),
    ...(heartbeat.has(nodeId) ? { heartbeatAddresses: parseAddressList(heartbeat.get(nodeId)!, '--heartbeat') } : {}),
    ...(paths.has(nodeId) ? { paths: enumValue(paths.get(nodeId)!, PATH_PREFERENCES, '--paths') } : {}),
    ...(replicaStore.has(nodeId) ? { storeKind: enumValue(replicaStore.get(nodeId)!, STORE_KINDS, '--replica-store') } : {}),
  }));
  let initialSync = flags.initialSync === undefined ? undefined : enumValue(flags.initialSync, INITIAL_SYNCS, '--initial-sync');
  let syncFromNodeId: string | undefined;
  if (flags.syncFrom !== undefined) {
    if (initialSync !== undefined && initialSync !== 'SYNC_FROM') throw bad(`--sync-from goes with --initial-sync sync-from, not ${flags.initialSync}`);
    initialSync = 'SYNC_FROM';
    syncFromNodeId = resolve(flags.syncFrom);
    if (!ids.includes(syncFromNodeId)) throw bad(`--sync-from ${flags.syncFrom}: not one of the --node nodes`);
  } else if (initialSync === 'SYNC_FROM') {
    throw bad('--initial-sync sync-from needs --sync-from NODE (the replica that holds the data)');
  }
  const sector = flags.sector === undefined ? undefined : Number(flags.sector);
  if (sector !== undefined && sector !== 512 && sector !== 4096) throw bad(`--sector "${flags.sector}": 512 or 4096`);
  return {
    clusterId,
    name: flags.name,
    sizeBytes: flags.sizeBytes,
    replicas,
    ...(flags.store !== undefined ? { storeKind: enumValue(flags.store, STORE_KINDS, '--store') } : {}),
    ...(sector !== undefined ? { sectorSize: sector } : {}),
    ...(flags.cache !== undefined ? { cacheMode: enumValue(flags.cache, CACHE_MODES, '--cache') } : {}),
    ...(flags.strategy !== undefined ? { strategy: enumValue(flags.strategy, STRATEGIES, '--strategy') } : {}),
    ...(flags.witness !== undefined && flags.witness.length > 0 ? { witness: flags.witness.map((w) => parseAddress(w, '--witness')) } : {}),
    ...(initialSync !== undefined ? { initialSync } : {}),
    ...(syncFromNodeId !== undefined ? { syncFromNodeId } : {}),
  };
}
