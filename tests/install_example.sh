#!/bin/bash
# Installs slaf from the build tree into a temporary prefix, builds
# examples/hello_dataset against it with find_package(slaf), and runs it on
# a dataset the example creates: the embedding path a C++ application takes.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/examples/hello_dataset" -B "$tmp/hello" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/hello" >/dev/null
out=$("$tmp/hello/hello_dataset" "$tmp/demo.slaf" B_cell)
echo "$out"
grep -q "^5000 cells x 3000 genes" <<<"$out"
grep -q "cells with cell_type = 'B_cell'" <<<"$out"
# The installed headers must not reach into the source tree.
if grep -rq '#include "engine/\|#include "codecs/\|#include "io/' "$tmp/prefix/include/slaf"; then
  echo "installed headers include private headers" >&2
  exit 1
fi
test -x "$tmp/prefix/bin/slaf"
