/**
 * CRC32C (Castagnoli), the checksum of sync frames, iSCSI digests, LSFS metadata and the HA state files.
 * Through ISA-L (Intel's storage acceleration library, Debian `libisal-dev`) when the native addon was built with it:
 * measured here 18 µs per MiB and 0.12 µs per 4 KiB, against 165 µs and 0.72 µs for @node-rs/crc32, which serves
 * when the addon or ISA-L is missing. Both compute the same value: `crc32c(data, previous)` continues a checksum.
 */
import { crc32c as nodeRsCrc32c } from '@node-rs/crc32';
import { nativeFs } from './flat/nativeFs';

export type Crc32cFn = (data: Uint8Array, initial?: number) => number;

const native = nativeFs()?.crc32c;

/** CRC32C of `data`, continuing from `initial` (a previous result; 0 or absent to start). */
export const crc32c: Crc32cFn = native ?? (nodeRsCrc32c as Crc32cFn);

/** Which implementation `crc32c` is. */
export const crc32cEngine: 'isa-l' | '@node-rs/crc32' = native ? 'isa-l' : '@node-rs/crc32';
