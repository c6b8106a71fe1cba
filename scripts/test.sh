#!/usr/bin/env bash
# The whole default test suite (what CI runs):
#  1. build and run every ctest test (unit, round-trip, golden, corruption,
#     the Python reference reader over the golden files);
#  2. rebuild with AddressSanitizer + UndefinedBehaviorSanitizer and run the
#     tests again (corruption and golden tests included);
#  3. replay the fuzz seeds and fuzz each target briefly (clang libFuzzer).
# Installs missing packages first. SLAF_SKIP_ASAN=1 / SLAF_SKIP_FUZZ=1 skip 2 / 3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh" >/dev/null
echo "== build + tests"
bash "$root/scripts/build.sh" "$root/build" 2>&1 | tail -n 1
ctest --test-dir "$root/build" --output-on-failure -j2 2>&1 | tail -n 25
if [ "${SLAF_SKIP_ASAN:-0}" != 1 ]; then
  echo "== ASan + UBSan build + tests"
  bash "$root/scripts/build.sh" "$root/build-asan" -DSLAF_SANITIZE=ON -DSLAF_BUILD_BENCH=OFF 2>&1 | tail -n 1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j2 -E "reference_reader|install_example" 2>&1 | tail -n 25
fi
if [ "${SLAF_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke (libFuzzer, 10 targets: segment, block, manifest, table, dense, mtx, lzf, sql, sql_bind, remote_parse; 18 s each, fixed seed, fresh corpus from the golden vectors and fuzz/corpus/)"
  rm -rf "$root/build-fuzz/corpus"
  FUZZ_SEED=1 FUZZ_CORPUS_DIR="$root/build-fuzz/corpus" bash "$root/fuzz/run.sh" 180 2>&1 | grep -E "^==|Done|SUMMARY|ERROR"
  if ls "$root"/fuzz/artifacts/* >/dev/null 2>&1; then
    echo "fuzzing found crashes: see fuzz/artifacts/" >&2
    exit 1
  fi
fi
echo "all test stages passed"
