/** How a target is described to the iSCSI server, and the portals it is reachable through. */
import { ScsiTargetDevice } from '@tandem/scsi';
import { ChapCredentials } from './chap';

export interface Portal {
  host: string;
  port: number;
  /** Target portal group tag: portals with the same tag form one target port (one ALUA port group). */
  portalGroupTag: number;
}

export interface IscsiTargetDefinition {
  /** iqn.… or eui.… or naa.… name. */
  name: string;
  alias?: string;
  device: ScsiTargetDevice;
  /** When set, initiators must authenticate with CHAP. */
  chap?: ChapCredentials;
  /** Portal group tags this target is exported through; default: every portal group of the server. */
  portalGroupTags?: number[];
}

const IQN = /^iqn\.\d{4}-\d{2}\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[^\s]+)?$/;
const EUI = /^eui\.[0-9A-F]{16}$/;
const NAA = /^naa\.[0-9A-F]{16}([0-9A-F]{16})?$/;

/** RFC 3720/7143 iSCSI name check (iqn. names are case-insensitive and compared lower-case). */
export function validateIscsiName(name: string): string | null {
  if (name.length > 223) return `iSCSI name "${name.slice(0, 40)}…" is longer than 223 bytes`;
  if (IQN.test(name) || EUI.test(name) || NAA.test(name)) return null;
  return `"${name}" is not a valid iSCSI name (expected e.g. iqn.2026-11.io.tandem:disk1)`;
}
