#!/usr/bin/env bash
# `npm start`: the whole local stack — NATS, orchestrator, GraphQL gateway and two node agents — in one terminal.
# Set-up first (Debian tools, npm ci, build), then `tandem stack` (apps/cli/src/stack), which prints the GraphQL
# URL, the API token and ready-to-paste commands once both nodes have registered. Ctrl-C stops everything.
# NATS_URL, DATABASE_URL, TANDEM_API_TOKEN, TANDEM_DATA_DIR and the flags of `tandem stack --help` are honoured;
# arguments to `npm start -- …` are passed on.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
tools=(iscsi-ls)
# Without NATS_URL the stack runs a private nats-server (JetStream, 127.0.0.1:4250, store in .tandem/nats).
[ -n "${NATS_URL:-}" ] || tools+=(nats-server)
ensure_debian_tools "${tools[@]}"
ensure_node_modules
ensure_build

exec node apps/cli/bin/tandem.js stack "$@"
