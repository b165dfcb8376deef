#!/usr/bin/env bash
# Every C file is formatted as .clang-format says (clang-format 14, as Debian 12 ships it). Lists
# the files that are not, with the command that fixes each; exits non-zero if there is any.
cd "$(dirname "$0")/.." || exit 1
status=0
while IFS= read -r -d '' f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (fix: clang-format -i $f)"
    status=1
  fi
done < <(find src include tests examples bench -name '*.[ch]' -print0 | sort -z)
[ $status -eq 0 ] && echo "every C file is formatted"
exit $status
