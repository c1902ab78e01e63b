// Adds up .test-results/*.json (one per jest project) into the closing line CI reads.
const fs = require('fs');
const path = require('path');
const dir = path.join(__dirname, '..', '.test-results');
let passed = 0, failed = 0, skipped = 0;
const failures = [];
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
for (const f of files.sort()) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  console.log(`  ${r.project.padEnd(14)} ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  for (const f of r.failures ?? []) failures.push(`${r.project}: ${f}`);
  passed += r.passed; failed += r.failed; skipped += r.skipped;
}
const expected = Number(process.argv[2] || 0);
if (files.length < expected) {
  console.log(`  ${expected - files.length} test project(s) produced no results (crashed before reporting)`);
  failed += expected - files.length;
}
if (failures.length > 0) {
  console.log('failed tests:');
  for (const f of failures) console.log(`  ✕ ${f}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
