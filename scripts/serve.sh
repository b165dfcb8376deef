#!/usr/bin/env bash
# Installs what is missing, builds, and serves the chat on http://localhost:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d build ] || meson setup build --buildtype=release
ninja -C build
exec ./build/src/sioc "$@"
