#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan/UBSan and runs each for an
# equal share of SECONDS (default 60): segment and block targets seeded with
# the golden segments, table_fuzz with the golden tables (*.tbl) and
# fuzz/corpus/table/, dense_fuzz with the golden dense matrices (*.dense),
# valid and invalid, manifest_fuzz with fuzz/corpus/manifest/ and
# fuzz/manifest.dict, and sql_fuzz and sql_bind_fuzz (binder + executor on a
# tiny dataset) with fuzz/corpus/sql/ and fuzz/sql.dict, and remote_parse_fuzz
# (Content-Range, S3 listings) with fuzz/corpus/remote/.
# Crashes are written to fuzz/artifacts/; turn each into a regression test.
#   fuzz/run.sh [SECONDS]
# FUZZ_SEED=N fixes libFuzzer's seed (CI does, so a run repeats exactly what
# was fuzzed before it landed); FUZZ_CORPUS_DIR moves the working corpus.
set -euo pipefail
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
CXX=clang++-14 CC=clang-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSLAF_FUZZ=ON -DSLAF_SANITIZE=ON -DSLAF_BUILD_TESTS=OFF -DSLAF_BUILD_BENCH=OFF >/dev/null
targets=(segment_fuzz block_fuzz manifest_fuzz table_fuzz dense_fuzz mtx_fuzz lzf_fuzz sql_fuzz sql_bind_fuzz remote_parse_fuzz)
cmake --build "$build" --target "${targets[@]}" -j2
per=$(( secs / ${#targets[@]} )); [ "$per" -ge 1 ] || per=1
mkdir -p "$here/artifacts"
for t in "${targets[@]}"; do
  corpus="${FUZZ_CORPUS_DIR:-$here/corpus-work}/$t"
  mkdir -p "$corpus"
  extra=()
  if [ "$t" = manifest_fuzz ]; then
    # Seeds: manifests, valid and invalid (format-spec §9.7 is one of them).
    cp -n "$here"/corpus/manifest/* "$corpus"/
    extra=(-dict="$here/manifest.dict")
  elif [ "$t" = table_fuzz ]; then
    # Seeds: every golden table, valid and invalid (format-spec §7), and
    # fuzz/corpus/table/ (tables that claim far more rows than their bytes).
    cp -n "$root"/format-spec/golden/*.tbl "$root"/format-spec/golden/invalid/*.tbl "$here"/corpus/table/* "$corpus"/ 2>/dev/null || true
  elif [ "$t" = remote_parse_fuzz ]; then
    # Seeds: Content-Range values and ListObjectsV2 pages (fuzz/corpus/remote/).
    cp -n "$here"/corpus/remote/* "$corpus"/
  elif [ "$t" = mtx_fuzz ]; then
    # Seeds: small MatrixMarket files (fuzz/corpus/mtx/): ordered, unordered, real, pattern.
    cp -n "$here"/corpus/mtx/* "$corpus"/
  elif [ "$t" = lzf_fuzz ]; then
    # Seeds: LZF streams (fuzz/corpus/lzf/), first two bytes the output capacity.
    cp -n "$here"/corpus/lzf/* "$corpus"/
  elif [ "$t" = sql_fuzz ] || [ "$t" = sql_bind_fuzz ]; then
    # Seeds: queries over cells, genes and expression (fuzz/corpus/sql/).
    cp -n "$here"/corpus/sql/* "$corpus"/
    extra=(-dict="$here/sql.dict")
  elif [ "$t" = dense_fuzz ]; then
    # Seeds: every golden dense matrix, valid and invalid (format-spec §8).
    cp -n "$root"/format-spec/golden/*.dense "$root"/format-spec/golden/invalid/*.dense "$corpus"/ 2>/dev/null || true
  else
    # Seeds: every golden segment, valid and invalid (format-spec/golden/).
    cp -n "$root"/format-spec/golden/*.seg "$root"/format-spec/golden/invalid/*.seg "$corpus"/ 2>/dev/null || true
  fi
  echo "== $t: ${per}s"
  "$build/fuzz/$t" "$corpus" "${extra[@]}" -max_total_time="$per" -malloc_limit_mb=512 -rss_limit_mb=2048 \
    -timeout=10 ${FUZZ_SEED:+-seed=$FUZZ_SEED} -artifact_prefix="$here/artifacts/$t-" -print_final_stats=1 2>&1 | tail -n 12
done
