#!/usr/bin/env bash
# What `npm test` runs: set up (Debian tools, npm ci, build), then every Nx project's jest tests (not stopping at
# the first failing project), then one closing line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true
source scripts/setup.sh

ensure_debian_tools "${!DEB_FOR[@]}"
ensure_node_modules || { echo "test.sh: npm ci failed (is package-lock.json in sync with package.json?)"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
ensure_build || { echo "test.sh: build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

rm -rf .test-results
# Lint first (seconds): module boundaries and the rest; its verdict is one more line in the summary.
bash scripts/lint.sh --record
lint_status=$?
npx nx run-many -t test --parallel=1 --nxBail=false --outputStyle=stream
nx_status=$?

projects=$(npx nx show projects --with-target test 2>/dev/null | grep -c .)
node scripts/summarize-tests.js "$projects"
summary_status=$?

if [ $nx_status -ne 0 ] || [ $summary_status -ne 0 ] || [ $lint_status -ne 0 ]; then exit 1; fi
exit 0
