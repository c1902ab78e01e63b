/**
 * The node's data-plane configuration: portals, targets and their LUNs. One schema for the JSON config file
 * the node agent reads and for what `tandem serve` builds from its flags; validated before anything opens.
 */
import { z } from 'zod';

const chapSchema = z.object({
  username: z.string().min(1),
  secret: z.string().min(12, 'CHAP secrets must be at least 12 characters (RFC 7143)'),
  mutualUsername: z.string().min(1).optional(),
  mutualSecret: z.string().min(12, 'CHAP secrets must be at least 12 characters (RFC 7143)').optional(),
}).strict();

const flatStoreSchema = z.object({
  kind: z.literal('flat'),
  path: z.string().min(1),
  /** Bytes; required with create, checked against the file otherwise. */
  sizeBytes: z.number().int().positive().optional(),
  create: z.boolean().default(false),
  thin: z.boolean().optional(),
}).strict();

/** LSFS: a log-structured thin store in a directory of its own (libs/storage/src/lsfs). */
const lsfsStoreSchema = z.object({
  kind: z.literal('lsfs'),
  /** The store's directory (created, empty, with `create`). */
  path: z.string().min(1),
  sizeBytes: z.number().int().positive().optional(),
  create: z.boolean().default(false),
  /** Segment file size, default 64 MiB. */
  segmentBytes: z.number().int().min(64 * 1024).max(4 * 1024 * 1024 * 1024).optional(),
  /** RAM for index pages, default 16 MiB. */
  indexCacheBytes: z.number().int().min(64 * 1024).optional(),
  /**
   * Export this snapshot of the store as a read-only LU (WRITE and UNMAP fail with DATA PROTECT). When the same
   * directory is also served live by this node, the snapshot is read through that open store.
   */
  snapshot: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1-64 letters, digits, ".", "_" or "-"').optional(),
}).strict();

/**
 * The LU's RAM cache (libs/storage/src/cache): write-back (GOOD once in RAM here and, for HA, in every synchronized
 * partner's cache), write-through (GOOD once durable), or none (reads cached, writes as they come). WCE in the
 * caching mode page reports write-back; an initiator clearing it with MODE SELECT makes every write durable.
 */
const cacheSchema = z.object({
  mode: z.enum(['write-back', 'write-through', 'none']),
  /** RAM for the LU's cache lines; below 128 MiB it works but is logged as a warning. */
  sizeBytes: z.number().int().min(64 * 1024).refine((n) => n % 4096 === 0, 'must be a multiple of 4096'),
}).strict();

/** States an operator may configure; transitioning is only ever set at runtime (HA). */
export const ALUA_CONFIG_STATES = ['optimized', 'non-optimized', 'standby', 'unavailable'] as const;

/** ALUA access state of the LU per target port group (= portal group tag); groups not named are optimized. */
const aluaSchema = z.record(
  z.string().regex(/^\d+$/, 'keys are target port group numbers (portal group tags)'),
  z.enum(ALUA_CONFIG_STATES),
);

const endpointSchema = z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }).strict();
const nodeIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'node ids are 1-64 letters, digits, "_" or "-"');

/** This node on the sync and heartbeat channels (needed by any HA LUN). */
export const replicationSchema = z.object({
  nodeId: nodeIdSchema,
  /** Where partners dial our sync links (default port 3262); link i leaves from address i. */
  sync: z.array(endpointSchema).min(1).max(8),
  /** UDP addresses answering heartbeats (default port 3263), on links separate from the sync ones. */
  heartbeat: z.array(endpointSchema).max(8).default([]),
}).strict();

/** A LUN that is one replica of a HA device: the same deviceId (LU identity) on every replica. */
export const haSchema = z.object({
  priority: z.number().int().min(0).max(255),
  /** This node's target port group for the device; default: the first portal's group. */
  portGroup: z.number().int().min(1).max(65535).optional(),
  /** ALUA state of this node's paths while it serves (asymmetric set-ups mark some non-optimized). */
  accessState: z.enum(['optimized', 'non-optimized']).default('optimized'),
  partners: z.array(z.object({
    nodeId: nodeIdSchema,
    priority: z.number().int().min(0).max(255),
    sync: z.array(endpointSchema).min(1).max(8),
    heartbeat: z.array(endpointSchema).max(8).default([]),
    portGroup: z.number().int().min(1).max(65535),
  }).strict()).min(1).max(2, 'a HA device has 2 or 3 replicas: give one or two partners'),
  /** heartbeat (default) or node-majority (a two-replica device then needs a witness; three replicas are their own majority). */
  strategy: z.enum(['heartbeat', 'node-majority']).default('heartbeat'),
  /** `tandem witness` addresses (UDP), for node-majority. */
  witness: z.array(endpointSchema).max(8).default([]),
  /** Generation both replicas start with (created together, CLEAR_BOTH / NONE); absent: the replica's own. */
  initialGeneration: z.string().uuid().optional(),
  /**
   * SYNC_FROM: `source` (this replica's data is copied to its partners) or `target` (it receives a full copy before
   * it serves); needs initialGeneration. Applied on the replica's first start only.
   */
  initialSync: z.enum(['source', 'target']).optional(),
  regionBytes: z.number().int().min(4096).max(64 * 1024 * 1024).refine((n) => (n & (n - 1)) === 0, 'must be a power of two').optional(),
  resyncBytesPerSecond: z.number().int().min(0).optional(),
  startupWaitMs: z.number().int().min(0).max(600_000).optional(),
}).strict();

export const lunSchema = z.object({
  lun: z.number().int().min(0).max(16383),
  /** Stable identity: VPD 0x83 designators and the serial number derive from it. */
  deviceId: z.string().min(1).max(64).optional(),
  name: z.string().min(1).max(64).optional(),
  blockSize: z.union([z.literal(512), z.literal(4096)]).default(512),
  /**
   * Physical block size reported to initiators (READ CAPACITY 16): 4096 by default, i.e. 512e for 512-byte LUNs,
   * matching the 4 KiB blocks of the file system under the image; 512 presents a 512n disk. Never below blockSize.
   */
  physicalBlockSize: z.union([z.literal(512), z.literal(4096)]).optional(),
  readOnly: z.boolean().default(false),
  alua: aluaSchema.optional(),
  store: z.discriminatedUnion('kind', [flatStoreSchema, lsfsStoreSchema]),
  cache: cacheSchema.optional(),
  ha: haSchema.optional(),
}).strict();

export const targetSchema = z.object({
  name: z.string().min(1),
  alias: z.string().max(255).optional(),
  chap: chapSchema.optional(),
  portalGroupTags: z.array(z.number().int().min(1).max(65535)).optional(),
  luns: z.array(lunSchema).min(1),
}).strict();

export const portalSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  portalGroupTag: z.number().int().min(1).max(65535).default(1),
}).strict();

export const hostConfigSchema = z.object({
  portals: z.array(portalSchema).min(1),
  /** May be empty: a node agent starts with no devices and gets them from the orchestrator. */
  targets: z.array(targetSchema),
  discoveryChap: chapSchema.optional(),
  queueDepth: z.number().int().min(1).max(4096).optional(),
  /** Idle seconds before the target pings an initiator (NOP-In). */
  nopIntervalSeconds: z.number().int().min(1).max(3600).default(10),
  /** Seconds an initiator has to answer a ping before its connection is dropped. */
  nopTimeoutSeconds: z.number().int().min(1).max(3600).default(15),
  maxRecvDataSegmentLength: z.number().int().min(512).max(16777215).optional(),
  replication: replicationSchema.optional(),
}).strict();

export type HostConfig = z.infer<typeof hostConfigSchema>;
export type HostConfigInput = z.input<typeof hostConfigSchema>;
export type LunConfig = z.infer<typeof lunSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type HaLunConfig = z.infer<typeof haSchema>;
export type ReplicationConfig = z.infer<typeof replicationSchema>;

export class HostConfigError extends Error {}

/** Validates untrusted config; the error lists every problem with its path. */
export function parseHostConfig(input: unknown): HostConfig {
  const result = hostConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new HostConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = result.data;
  const lunsSeen = new Map<string, Set<number>>();
  const portalGroups = new Set(config.portals.map((p) => p.portalGroupTag));
  for (const t of config.targets) {
    const seen = lunsSeen.get(t.name.toLowerCase()) ?? new Set<number>();
    const exportedThrough = new Set(t.portalGroupTags ?? portalGroups);
    for (const l of t.luns) {
      if (seen.has(l.lun)) throw new HostConfigError(`target ${t.name}: LUN ${l.lun} is defined twice`);
      if (l.physicalBlockSize !== undefined && l.physicalBlockSize < l.blockSize) {
        throw new HostConfigError(`target ${t.name}: LUN ${l.lun}: physical block size ${l.physicalBlockSize} is smaller than its ${l.blockSize}-byte sector`);
      }
      seen.add(l.lun);
      if (l.store.kind === 'lsfs' && l.store.snapshot !== undefined) {
        const where = `target ${t.name} LUN ${l.lun} (snapshot ${l.store.snapshot})`;
        if (l.store.create || l.store.sizeBytes !== undefined) throw new HostConfigError(`${where}: a snapshot LU opens an existing store: no create or size`);
        if (l.ha || l.cache) throw new HostConfigError(`${where}: a snapshot LU is read-only and local: no ha or cache section`);
      }
      if (l.ha) {
        const where = `target ${t.name} LUN ${l.lun}`;
        if (!config.replication) throw new HostConfigError(`${where} is a HA replica, but the node has no "replication" section (node id, sync and heartbeat addresses)`);
        if (!l.deviceId) throw new HostConfigError(`${where} is a HA replica: give it the device's deviceId (the LU identity every replica presents)`);
        for (const p of l.ha.partners) {
          if (p.nodeId === config.replication.nodeId) throw new HostConfigError(`${where}: partner ${p.nodeId} is this node`);
          if (exportedThrough.has(p.portGroup)) throw new HostConfigError(`${where}: partner ${p.nodeId} uses port group ${p.portGroup}, which is one of this node's; every node needs its own`);
          if (p.priority === l.ha.priority) throw new HostConfigError(`${where}: partner ${p.nodeId} has the same priority ${p.priority}; priorities must differ so that a split has one winner`);
        }
        if (l.ha.initialSync && !l.ha.initialGeneration) throw new HostConfigError(`${where}: initialSync ${l.ha.initialSync} needs initialGeneration (the same on every replica)`);
        if (l.ha.strategy === 'node-majority' && l.ha.partners.length === 1 && l.ha.witness.length === 0) throw new HostConfigError(`${where}: node-majority with two replicas needs a witness (\`tandem witness\`): give its address in ha.witness`);
        if (l.ha.portGroup !== undefined && !exportedThrough.has(l.ha.portGroup)) throw new HostConfigError(`${where}: port group ${l.ha.portGroup} is not one this target is exported through`);
      }
      for (const group of Object.keys(l.alua ?? {})) {
        if (!exportedThrough.has(Number(group))) {
          throw new HostConfigError(`target ${t.name} LUN ${l.lun}: ALUA state for port group ${group}, but the target is not exported through such a portal group (tpg=)`);
        }
      }
    }
    lunsSeen.set(t.name.toLowerCase(), seen);
  }
  return config;
}
