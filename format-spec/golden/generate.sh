#!/usr/bin/env bash
# Regenerates the golden vectors with the current writer. Only for NEW cases:
# existing files must never change (golden_test fails if they would).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target slaf-golden-gen -j2 >/dev/null
"$build/tests/slaf-golden-gen" "$here"
