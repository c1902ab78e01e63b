// Temporary directories, image files and checksums for tests that need a backing file or a data pattern.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function makeTempDir(prefix = 'tandem-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Sparse file of the given size. */
export function createSparseImage(file: string, size: number): string {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** File of the given size filled with pseudo-random bytes (fast: a seeded 1 MiB block rotated per MiB). */
export function createRandomImage(file: string, size: number, seed = 'tandem'): string {
  const fd = fs.openSync(file, 'w');
  try {
    let counter = 0;
    for (let off = 0; off < size; off += MiB) {
      const len = Math.min(MiB, size - off);
      fs.writeSync(fd, randomBlock(`${seed}:${counter++}`, len), 0, len, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Deterministic random-looking bytes: AES-CTR keystream keyed by the seed. */
export function randomBlock(seed: string, len: number): Buffer {
  const key = crypto.createHash('sha256').update(seed).digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(len));
}

/** sha256 of [offset, offset+length) of a file, read in 1 MiB pieces. */
export function hashRange(file: string, offset: number, length: number): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(MiB);
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const n = fs.readSync(fd, buf, 0, Math.min(MiB, end - pos), pos);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export function formatSize(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}GiB`;
  if (bytes % MiB === 0) return `${bytes / MiB}MiB`;
  return String(bytes);
}
