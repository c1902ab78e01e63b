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

/** States an operator may configure; transitioning is only ever set at runtime (HA). */
export const ALUA_CONFIG_STATES = ['optimized', 'non-optimized', 'standby', 'unavailable'] as const;

/** ALUA access state of the LU per target port group (= portal group tag); groups not named are optimized. */
const aluaSchema = z.record(
  z.string().regex(/^\d+$/, 'keys are target port group numbers (portal group tags)'),
  z.enum(ALUA_CONFIG_STATES),
);

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
  store: flatStoreSchema,
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
}).strict();

export type HostConfig = z.infer<typeof hostConfigSchema>;
export type HostConfigInput = z.input<typeof hostConfigSchema>;
export type LunConfig = z.infer<typeof lunSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;

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
