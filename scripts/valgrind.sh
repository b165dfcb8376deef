#!/bin/bash
# Runs the integration suites under valgrind's memcheck (every server the tests start), on the
# plain build: any invalid access or definite leak makes a server exit 99 and its test fail.
# Slow (the servers run 20-50x slower), so not part of .ci/run; run it by hand after changes to
# memory handling. Suites with timing or memory-size assertions are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
meson setup build >/dev/null 2>&1 || true
ninja -C build
SIOC_VALGRIND=1 meson test -C build --timeout-multiplier 10 \
    engine-libuv protocol-libuv http-libuv chat-libuv api-libuv features-libuv recovery-libuv \
    plain-libuv access-libuv eio3-libuv python-libuv "$@"
