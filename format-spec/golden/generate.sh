#!/usr/bin/env bash
# Writes golden vectors for NEW cases with the current writers: segments
# (.seg), tables (.tbl), dense matrices (.dense), their .json contents and the
# invalid vectors. Existing files are never changed: if a writer would now
# produce different bytes for an existing vector, this script stops with an
# error (so does golden_test). JOBS=n sets the build parallelism (default 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target slaf-golden-gen -j"${JOBS:-2}" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/invalid"
"$build/tests/slaf-golden-gen" "$tmp"
status=0
while IFS= read -r rel; do
  if [ -e "$here/$rel" ]; then
    cmp -s "$tmp/$rel" "$here/$rel" || { echo "generate.sh: $rel would change; existing vectors are frozen" >&2; status=1; }
  else
    mkdir -p "$(dirname "$here/$rel")"
    cp "$tmp/$rel" "$here/$rel"
    echo "added $rel"
  fi
done < <(cd "$tmp" && find . -type f | sed 's|^\./||' | sort)
exit $status
