#!/usr/bin/env bash
# The long LSFS crash run: 1,000 kill -9s (or $1) of a writer at random moments, each followed by recovery, the
# store's consistency check and a read-back of every block written (test/storage/lsfs-crash.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b libs/storage
TANDEM_LSFS_CRASH_ITERATIONS="${1:-1000}" npx jest -c test/jest.config.js test/storage/lsfs-crash.test.ts
