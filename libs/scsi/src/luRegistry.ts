/**
 * The LUs of one node, by their VPD 83h logical unit designators: the copy manager (EXTENDED COPY) finds the
 * source and destination named by an identification CSCD descriptor here. Every ScsiTarget registers the LUs
 * it presents; a node (target-host) gives all its targets one registry so copies can cross targets.
 */
import { LogicalUnit, ResolvedIdentity } from './logicalUnit';

/** Designator types (SPC-4 table 596) a LU designator can have. */
export const enum DesignatorType {
  VendorSpecific = 0,
  T10VendorId = 1,
  Eui64 = 2,
  Naa = 3,
}

export interface LuDesignator {
  readonly type: DesignatorType;
  readonly value: Buffer;
}

/** The LU designators every replica of a device reports in VPD 83h (association LU), derived from its deviceId. */
export function luDesignators(identity: ResolvedIdentity): LuDesignator[] {
  return [
    { type: DesignatorType.Naa, value: identity.naa },
    { type: DesignatorType.T10VendorId, value: t10VendorIdDesignator(identity) },
  ];
}

/** T10 vendor id designator: vendor (8 bytes) + deviceId, printable ASCII. */
export function t10VendorIdDesignator(identity: ResolvedIdentity): Buffer {
  return Buffer.from((identity.vendor + identity.deviceId).replace(/[^\x20-\x7e]/g, '_').slice(0, 252), 'ascii');
}

const keyOf = (type: number, value: Buffer): string => `${type}:${value.toString('hex')}`;

/** Which registry each LU is in, so a command handler (which sees only its LU) can reach the others. */
const registryOfLu = new WeakMap<LogicalUnit, LuRegistry>();

export class LuRegistry {
  private readonly byDesignator = new Map<string, LogicalUnit>();
  /** A LU presented by several targets (or LUNs) is registered once per presentation. */
  private readonly references = new Map<LogicalUnit, number>();

  /** The registry a LU was added to, if any. */
  static of(lu: LogicalUnit): LuRegistry | undefined {
    return registryOfLu.get(lu);
  }

  /**
   * Registers a LU (again). A designator already held by another LU stays with that one: two LUs with one
   * identity on a node is a configuration error, and copying to the wrong one must not happen silently.
   */
  add(lu: LogicalUnit): void {
    const count = this.references.get(lu) ?? 0;
    this.references.set(lu, count + 1);
    if (count > 0) return;
    const other = registryOfLu.get(lu);
    if (other && other !== this) other.forget(lu);
    registryOfLu.set(lu, this);
    for (const d of luDesignators(lu.identity)) {
      const key = keyOf(d.type, d.value);
      if (!this.byDesignator.has(key)) this.byDesignator.set(key, lu);
    }
  }

  /** Drops one registration of a LU; it is gone when the last presentation is withdrawn. */
  remove(lu: LogicalUnit): void {
    const count = this.references.get(lu) ?? 0;
    if (count > 1) {
      this.references.set(lu, count - 1);
      return;
    }
    if (count === 1) this.forget(lu);
  }

  /** The LU with this logical unit designator, if it is on this node. */
  find(type: number, value: Buffer): LogicalUnit | undefined {
    return this.byDesignator.get(keyOf(type, value));
  }

  has(lu: LogicalUnit): boolean {
    return this.references.has(lu);
  }

  get size(): number {
    return this.references.size;
  }

  private forget(lu: LogicalUnit): void {
    this.references.delete(lu);
    if (registryOfLu.get(lu) === this) registryOfLu.delete(lu);
    for (const d of luDesignators(lu.identity)) {
      const key = keyOf(d.type, d.value);
      if (this.byDesignator.get(key) === lu) this.byDesignator.delete(key);
    }
  }
}
