#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit and integration suites in a
# normal build, then again in an AddressSanitizer + UndefinedBehaviorSanitizer build. Ends with
# "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
# The tests also need a formatter, two load balancers (the sticky-session test) and promtool
# (Debian's prometheus package, for the metrics test) and openssl (certificates for the TLS tests).
bash scripts/setup.sh clang-format haproxy nginx-light prometheus openssl || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp":print_suppressions=0

build() { # dir, meson options...
  local dir=$1
  shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null || meson setup --wipe "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi && ninja -C "$dir"
}

status=0
dirs=()
for variant in plain sanitize; do
  if [ "$variant" = plain ]; then
    dir=build opts=()
  else
    dir=build-sanitize opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
  fi
  echo "== $variant build"
  if ! build "$dir" "${opts[@]}"; then
    echo "build $variant: FAILED"
    status=1
    dirs+=("!$dir")
    continue
  fi
  rm -f "$dir/meson-logs/testlog.json"
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  dirs+=("$dir")
done

python3 - "${dirs[@]}" <<'PY'
import json, sys
passed = failed = 0
for d in sys.argv[1:]:
    if d.startswith("!"):
        failed += 1
        print(f"FAILED: the build in {d[1:]}")
        continue
    try:
        lines = open(f"{d}/meson-logs/testlog.json").read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        r = json.loads(line)
        if r["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r["result"] != "SKIP":
            failed += 1
            print(f"FAILED: {d}: {r['name']} ({r['result']})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ]
