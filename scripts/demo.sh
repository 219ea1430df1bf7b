#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the lab demo (a shop
# goes from wide open to least privilege, enforced by the real enforcer in
# network namespaces and checked with real packets). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec build/netward lab demo "$@"
