#!/usr/bin/env bash
# Configures (once) and builds netward in build/ with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build --buildtype=debugoptimized -Dwerror=true
fi
ninja -C build
