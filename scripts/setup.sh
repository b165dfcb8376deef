#!/usr/bin/env bash
# Installs what sioc needs on Debian 12 and is missing: the toolchain and libraries from Debian,
# the JavaScript pieces (client bundle, test clients) from npm as pinned in package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc pkg-config meson ninja-build python3 libwebsockets-dev libwebsockets-evlib-uv
          libjansson-dev libuv1-dev libhiredis-dev libcrypt-dev zlib1g-dev libssl-dev redis-server check chromium python3-socketio
          python3-websocket python3-requests)
packages+=("$@") # more, for the caller (the tests add clang-format)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Exactly what the lock file pins.
npm ci --no-audit --no-fund --loglevel=error
