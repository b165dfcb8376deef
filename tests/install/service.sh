#!/bin/bash
# sioc installed as a service: the project installed into a temporary prefix, the installed
# `sioc` run from an empty directory under a notify socket the test listens on, as systemd runs
# it. It must say READY=1 once it listens and STOPPING=1 when it stops (alone, and as the primary
# of worker processes), serve the chat page, the
# client bundle and the Admin UI's dashboard from the prefix (markers added to the installed
# copies are what it serves), and
# the installed unit must pass `systemd-analyze verify` (where systemd is installed). The man pages
# must be honest: sioc(1) names every flag `sioc --help` lists, and sioc(3)'s example builds
# against the installed library. Arguments: the build directory, the source directory, the
# build's b_sanitize.
set -euo pipefail
build=$1 src=$2 sanitize=${3:-none}
tmp=$(mktemp -d)
pid= listener=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$listener" ] && kill "$listener" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "service: $*"
  [ -f "$tmp/log" ] && cat "$tmp/log"
  exit 1
}

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet
bin=$(find "$tmp/root" -path '*/bin/sioc' | head -n 1)
share=$(dirname "$(find "$tmp/root" -path '*/share/sioc/client/socket.io.js' | head -n 1)")/..
unit=$(find "$tmp/root" -name sioc.service | head -n 1)
[ -x "$bin" ] && [ -f "$share/client/LICENSE" ] && [ -f "$share/public/index.html" ] &&
  [ -f "$share/admin-ui/index.html" ] && [ -f "$share/admin-ui/LICENSE" ] &&
  [ -f "$unit" ] && [ -n "$(find "$tmp/root" -path '*/default/sioc')" ] ||
  fail "the binary, the bundle, the dashboard, their licences, the pages, the unit or its flags file is missing"
libdir=$(dirname "$(find "$tmp/root" -name 'libsioc.so*' | head -n 1)")
echo '/* installed copy */' >> "$share/client/socket.io.js"
echo '<!-- installed dashboard -->' >> "$share/admin-ui/index.html"

# The notify socket: one datagram per line of what sioc sends.
python3 - "$tmp/notify.sock" > "$tmp/notified" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
try:
    while True:
        print(s.recv(4096).decode().replace('\n', ' '), flush=True)
except socket.timeout:
    pass
EOF
listener=$!
for _ in $(seq 1 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done

mkdir "$tmp/empty"
(cd "$tmp/empty" && NOTIFY_SOCKET="$tmp/notify.sock" LD_LIBRARY_PATH="$libdir" \
  exec "$bin" --port 0 --admin-ui --admin-no-auth 2> "$tmp/log") &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on http:\/\/localhost:\([0-9]*\).*/\1/p' "$tmp/log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the installed binary did not start"
for _ in $(seq 1 50); do grep -q READY=1 "$tmp/notified" && break; sleep 0.1; done
grep -q "READY=1 STATUS=listening on port $port" "$tmp/notified" || fail "no READY=1: $(cat "$tmp/notified")"

get() { # path: the body
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&3
  timeout 5 cat <&3
  exec 3>&-
}
get / | grep -q "$(grep -m1 '<title>' "$src/public/index.html")" || fail "no chat page"
get /socket.io/socket.io.js | grep -q 'installed copy' || fail "the bundle is not the installed one"
get /admin/ | grep -q 'installed dashboard' || fail "the dashboard is not the installed one"

kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=
for _ in $(seq 1 50); do grep -q STOPPING=1 "$tmp/notified" && break; sleep 0.1; done
grep -q STOPPING=1 "$tmp/notified" || fail "no STOPPING=1"

# With worker processes the primary is the service's main process: it says both.
(cd "$tmp/empty" && NOTIFY_SOCKET="$tmp/notify.sock" LD_LIBRARY_PATH="$libdir" \
  exec "$bin" --port 0 --workers 2 2> "$tmp/log") &
pid=$!
for _ in $(seq 1 100); do grep -q 'READY=1 STATUS=2 workers listening' "$tmp/notified" && break; sleep 0.1; done
grep -q 'READY=1 STATUS=2 workers listening on port' "$tmp/notified" ||
  fail "no READY=1 from the primary: $(cat "$tmp/notified")"
kill -TERM "$pid"
wait "$pid" || fail "workers: exit status $? after SIGTERM"
pid=
for _ in $(seq 1 50); do [ "$(grep -c STOPPING=1 "$tmp/notified")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c STOPPING=1 "$tmp/notified")" -eq 2 ] || fail "no STOPPING=1 from the primary"

if command -v systemd-analyze > /dev/null; then
  # As installed, but the binary where this test put it (verify checks that it is executable).
  mkdir "$tmp/unit"
  sed "s|^ExecStart=[^ ]*|ExecStart=$bin|" "$unit" > "$tmp/unit/sioc.service"
  out=$(systemd-analyze verify --man=no "$tmp/unit/sioc.service" 2>&1) || fail "verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
fi

# sioc(1) names every flag; sioc(3)'s example builds and links against the installed library.
man1=$(find "$tmp/root" -name 'sioc.1*' | head -n 1)
for flag in $("$build/src/sioc" --help | grep -o '^  --[a-z0-9-]*' | tr -d ' '); do
  grep -qF ".B ${flag//-/\\-}" "$man1" || fail "sioc(1) does not name $flag"
done
man3=$(find "$tmp/root" -name 'sioc.3*' | head -n 1)
sed -n '/^\.SH EXAMPLE/,/^\.SH FILES/p' "$man3" | sed -n '/^\.nf/,/^\.fi/p' | sed '1d;$d' \
  > "$tmp/example.c"
pc=$(find "$tmp/root" -name sioc.pc | head -n 1)
flags=()
[ "$sanitize" != none ] && flags+=("-fsanitize=$sanitize")
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root" \
  cc -Wall -Wextra -Wno-unused-parameter -Werror "${flags[@]}" "$tmp/example.c" \
  $(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root" pkg-config --cflags --libs sioc) \
  -o "$tmp/example" || fail "sioc(3)'s example does not build"
echo "service: installed sioc said READY=1 and STOPPING=1 (alone and as a primary of workers), served the page, the installed bundle and dashboard; unit verified; man pages checked"
