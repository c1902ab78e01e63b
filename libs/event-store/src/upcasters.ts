/**
 * Upcasting: stored events keep the schema version they were written with; readers get the newest one, lifted
 * one version at a time by `upcaster(type, fromVersion, fn)` (fn turns data of `fromVersion` into `fromVersion + 1`).
 */
import { UpcastFailed } from './errors';

export interface EventUpcaster {
  readonly type: string;
  readonly fromVersion: number;
  readonly upcast: (data: unknown) => unknown;
}

/** Declares one step of an upcaster chain. */
export function upcaster<TFrom = unknown, TTo = unknown>(type: string, fromVersion: number, fn: (data: TFrom) => TTo): EventUpcaster {
  if (!Number.isInteger(fromVersion) || fromVersion < 1) throw new Error(`upcaster ${type}: fromVersion must be an integer ≥ 1`);
  return { type, fromVersion, upcast: fn as (data: unknown) => unknown };
}

export class Upcasters {
  private readonly steps = new Map<string, EventUpcaster>();

  constructor(upcasters: readonly EventUpcaster[] = []) {
    for (const step of upcasters) this.register(step);
  }

  register(step: EventUpcaster): this {
    const key = `${step.type}@${step.fromVersion}`;
    if (this.steps.has(key)) throw new Error(`upcaster ${step.type} v${step.fromVersion} registered twice`);
    this.steps.set(key, step);
    return this;
  }

  /** Applies every step available from `schemaVersion`; returns the data and the version reached. */
  upcast(type: string, schemaVersion: number, data: unknown): { schemaVersion: number; data: unknown } {
    if (this.steps.size === 0) return { schemaVersion, data };
    let version = schemaVersion;
    let value = data;
    for (let step = this.steps.get(`${type}@${version}`); step; step = this.steps.get(`${type}@${version}`)) {
      try {
        value = step.upcast(value);
      } catch (error) {
        throw new UpcastFailed(type, version, error);
      }
      version++;
    }
    return { schemaVersion: version, data: value };
  }

  /** Newest version reachable for `type` from version 1 (what a writer should stamp). */
  newestVersion(type: string): number {
    let version = 1;
    while (this.steps.has(`${type}@${version}`)) version++;
    return version;
  }
}
