#!/usr/bin/env bash
# Shared set-up for `npm start` and `npm test` on a fresh machine: the Debian tools the stack and the tests drive,
# Node dependencies, and the compiled workspace. Safe to run again: each step runs only when needed.
# Sourced by scripts/start.sh and scripts/test.sh; run directly, it does all three steps.

# tool binary → Debian package
declare -A DEB_FOR=(
  [iscsi-ls]=libiscsi-bin [iscsi-inq]=libiscsi-bin [iscsi-readcapacity16]=libiscsi-bin [iscsi-test-cu]=libiscsi-bin
  [qemu-img]=qemu-utils [qemu-io]=qemu-utils [tgtd]=tgt [tgtadm]=tgt [ip]=iproute2
  [nats-server]=nats-server [promtool]=prometheus
  # the host tier (test/hosts): scripts/guest/build-image.sh builds a Debian guest, qemu boots it
  [qemu-system-x86_64]=qemu-system-x86 [debootstrap]=debootstrap [mkfs.ext4]=e2fsprogs
  # the console's browser scenario (test/e2e/console.e2e.test.ts): playwright-core drives Debian's chromium
  [chromium]=chromium
)

have_binary() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

# ensure_debian_tools BIN... — installs the packages of missing binaries; warns (never fails) when it cannot,
# so that tests needing them skip with a reason instead.
ensure_debian_tools() {
  local missing=() bin
  for bin in "$@"; do
    have_binary "$bin" || missing+=("${DEB_FOR[$bin]}")
  done
  # QEMU's iSCSI driver is a loadable module from qemu-block-extra; qemu-img cannot reach a target without it.
  if [[ " $* " == *" qemu-img "* ]] && ! compgen -G '/usr/lib/*/qemu/block-iscsi.so' >/dev/null && [ ! -e /usr/lib/qemu/block-iscsi.so ]; then
    missing+=(qemu-block-extra)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  install_debian_packages "what needs them is skipped" "${missing[@]}"
}

# install_debian_packages CONSEQUENCE PKG... — apt-get update and install, as root or through sudo; when that cannot
# be done, a warning ending in CONSEQUENCE (what runs without the packages), never a failure.
install_debian_packages() {
  local consequence="$1"
  shift
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
  fi
  if [ "$sudo" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: WARNING: cannot install $* (not root, no sudo, or no apt-get); $consequence" >&2
    return 0
  fi
  echo "setup: installing Debian packages: $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    echo "setup: WARNING: apt-get install $* failed; $consequence" >&2
}

# ISA-L (libisal-dev): the storage addon computes CRC32C with it, 7-9x faster than without (libs/storage/src/crc32c.ts).
# A library, not a tool: checked by its header. Without it everything works, only slower; so a failure only warns.
ensure_isal() {
  [ -f /usr/include/isa-l/crc.h ] || install_debian_packages "CRC32C runs without ISA-L" libisal-dev
}

# npm records what it installed in node_modules/.package-lock.json; a newer package-lock.json means a stale install.
ensure_node_modules() {
  ensure_isal
  if [ ! -d node_modules ] || [ ! -e node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund
  elif [ -f /usr/include/isa-l/crc.h ] && ! node -e "process.exit(typeof require('./libs/storage/native/build/Release/tandem_fs.node').crc32c === 'function' ? 0 : 1)" 2>/dev/null; then
    echo "setup: rebuilding the storage addon (ISA-L is here now)"
    npm rebuild @tandem/storage
  fi
}

ensure_build() {
  echo "setup: building (tsc -b)"
  npm run --silent build
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  ensure_debian_tools "${!DEB_FOR[@]}"
  ensure_node_modules
  ensure_build
fi
