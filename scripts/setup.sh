#!/usr/bin/env bash
# Shared set-up for `npm start` and `npm test` on a fresh machine: Debian tools the demo and the tests use,
# Node dependencies, and the compiled workspace. Safe to run again: each step runs only when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool binary → Debian package
declare -A DEB_FOR=(
  [iscsi-ls]=libiscsi-bin [iscsi-test-cu]=libiscsi-bin [qemu-img]=qemu-utils [qemu-io]=qemu-utils
  [tgtd]=tgt [ip]=iproute2
)

ensure_debian_tools() {
  local missing=()
  for bin in "$@"; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("${DEB_FOR[$bin]}")
  done
  # qemu's iSCSI driver lives in qemu-block-extra; qemu-img is useless against a target without it.
  if command -v qemu-img >/dev/null 2>&1 && ! ls /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so /usr/lib/*/qemu/block-iscsi.so >/dev/null 2>&1; then
    missing+=(qemu-block-extra)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  [[ " ${missing[*]} " == *" qemu-utils "* ]] && missing+=(qemu-block-extra)
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: missing Debian packages (${missing[*]}) and not root: install them, or tests needing them are skipped" >&2
      return 0
    fi
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_node_modules() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund
  fi
}

ensure_build() {
  echo "setup: building (tsc -b)"
  npx tsc -b
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_debian_tools iscsi-ls iscsi-test-cu qemu-img qemu-io tgtd ip
  ensure_node_modules
  ensure_build
fi
