#!/usr/bin/env bash
# `npm start`: a demo target with one FLAT LUN on 127.0.0.1, ready for iscsi-ls and qemu-img.
# (The control plane arrives with a later release; until then the demo is one standalone node.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_debian_tools iscsi-ls qemu-img
ensure_node_modules
ensure_build

HOST="${TANDEM_DEMO_HOST:-127.0.0.1}"
PORT="${TANDEM_DEMO_PORT:-3260}"
IQN="iqn.2026-11.io.tandem:demo"
mkdir -p .tandem/demo
IMG=".tandem/demo/disk0.img"
LUN="0=flat:$IMG,size=1GiB,thin"
[ -e "$IMG" ] || LUN="$LUN,create"

cat <<INFO

  Tandem demo target: $IQN on $HOST:$PORT, LUN 0 = 1 GiB thin FLAT image $IMG

  Try it from another terminal:
    iscsi-ls -s iscsi://$HOST:$PORT
    iscsi-inq iscsi://$HOST:$PORT/$IQN/0
    qemu-img convert -n -f raw -O raw some-disk.raw iscsi://$HOST:$PORT/$IQN/0
    qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' iscsi://$HOST:$PORT/$IQN/0

  Ctrl-C stops it (initiators are logged out, the image is flushed).

INFO
exec node apps/cli/bin/tandem.js serve --listen "$HOST:$PORT" --target "$IQN" --lun "$LUN"
