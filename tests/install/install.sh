#!/bin/bash
# The library as others get it: the project installed into a temporary prefix, then
# examples/embedded.c built against that copy with nothing but `pkg-config sioc libuv`, run, and
# asked for a handshake; the other examples built the same way (with `pkg-config sioc`) and asked
# for their version. Arguments: the build directory, the source directory, the build's
# b_sanitize (a sanitized library needs its runtime in the program too).
set -euo pipefail
build=$1 src=$2 sanitize=${3:-none}
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet
pc=$(find "$tmp/root" -name sioc.pc | head -n 1)
header=$(find "$tmp/root" -name sioc.h | head -n 1)
[ -n "$pc" ] && [ -n "$header" ] || { echo "install: no sioc.pc or sioc.h installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=()
[ "$sanitize" != none ] && flags+=("-fsanitize=$sanitize")
# The source's include/ is not on the path: only the installed header can be found.
cc -Wall -Wextra -Werror "${flags[@]}" "$src/examples/embedded.c" \
  $(pkg-config --cflags --libs sioc libuv) -o "$tmp/embedded"
libdir=$(dirname "$(find "$tmp/root" -name 'libsioc.so*' | head -n 1)")
for example in feature-tour protocol-test-server; do
  # As the project builds them: callbacks leave parameters unused.
  cc -Wall -Wextra -Wno-unused-parameter -Werror "${flags[@]}" "$src/examples/$example.c" \
    $(pkg-config --cflags --libs sioc) -o "$tmp/$example"
  LD_LIBRARY_PATH="$libdir" "$tmp/$example" --version | grep -q "^$example " ||
    { echo "install: $example built against the prefix does not run"; exit 1; }
done

LD_LIBRARY_PATH="$libdir" "$tmp/embedded" 0 2> "$tmp/log" &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on http:\/\/localhost:\([0-9]*\).*/\1/p' "$tmp/log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "install: the program did not start"; cat "$tmp/log"; exit 1; }

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
answer=$(timeout 5 cat <&3)
exec 3>&-
grep -q '"sid"' <<< "$answer" || { echo "install: no handshake: $answer"; exit 1; }

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || { echo "install: exit status $status"; cat "$tmp/log"; exit 1; }
echo "install: built embedded, feature-tour and protocol-test-server against $(basename "$pc") in a temporary prefix; embedded served a handshake and exited 0"
