// Prints the console bundle's size: each JS and CSS file of dist/assets, raw and gzip -9 (what a browser downloads
// when the server compresses; the gateway serves it uncompressed on loopback), and the totals. Run after the build:
//   node apps/console/scripts/bundle-size.js [distDir]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
let files;
try {
  files = readdirSync(join(dist, 'assets')).filter((f) => /\.(js|css)$/.test(f)).sort();
} catch {
  console.error(`bundle-size: no build in ${dist}; run \`npm run build\` first`);
  process.exit(1);
}
if (files.length === 0) {
  console.error(`bundle-size: ${dist}/assets has no .js or .css file`);
  process.exit(1);
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
let raw = 0;
let gzip = 0;
for (const file of files) {
  const body = readFileSync(join(dist, 'assets', file));
  const zipped = gzipSync(body, { level: 9 }).length;
  raw += body.length;
  gzip += zipped;
  console.log(`${file.padEnd(32)} ${kib(body.length).padStart(10)} raw ${kib(zipped).padStart(10)} gzip`);
}
console.log(`${'total JS+CSS'.padEnd(32)} ${kib(raw).padStart(10)} raw ${kib(gzip).padStart(10)} gzip`);
