#!/usr/bin/env bash
# `npm run lint`: ESLint over the workspace, module boundaries included. The Nx rule reads the project graph from
# Nx's cache and silently skips itself when there is none (a fresh clone), so the graph is computed first.
# With --record (scripts/test.sh), the verdict is also written to .test-results/lint.json for the closing summary.
set -uo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true
record=false
[ "${1:-}" = "--record" ] && record=true
npx nx show projects >/dev/null || { echo "lint: nx could not compute the project graph"; exit 1; }
out=$(npx eslint . 2>&1)
status=$?
printf '%s\n' "$out"
if $record; then
  mkdir -p .test-results
  node -e '
    const [status, out] = [Number(process.argv[1]), process.argv[2]];
    const failures = status === 0 ? [] : out.split("\n").filter((l) => /\berror\b/.test(l)).slice(0, 20).map((l) => "eslint: " + l.trim());
    if (status !== 0 && failures.length === 0) failures.push("eslint exited with " + status);
    require("fs").writeFileSync(".test-results/lint.json", JSON.stringify({ project: "lint", passed: status === 0 ? 1 : 0, failed: status === 0 ? 0 : 1, skipped: 0, failures }) + "\n");
  ' "$status" "$out"
fi
[ $status -eq 0 ] && echo "lint: no errors"
exit $status
