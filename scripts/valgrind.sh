#!/bin/bash
# Runs every integration suite with each server under valgrind's memcheck, on the plain build: an
# invalid access or a definite leak makes a server exit 99, which fails its test. RSS assertions
# are skipped (as under ASan: valgrind's own memory counts), and the file-descriptor-limit test
# (valgrind keeps descriptors of its own). Slow — about six minutes — so not part of .ci/run, which
# runs the ASan/UBSan build instead; run it after changes to memory handling.
set -euo pipefail
cd "$(dirname "$0")/.."
meson setup build >/dev/null 2>&1 || true
ninja -C build
SIOC_VALGRIND=1 SIOC_SANITIZED=1 meson test -C build --suite integration --timeout-multiplier 10 "$@"
