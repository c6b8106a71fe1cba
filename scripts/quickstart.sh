#!/usr/bin/env bash
# Installs what slaf needs (Debian 12, as root), builds it, and runs the main
# job: writes a demo expression segment, explains it with slaf-inspect, reads
# cells back and scans it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build"
demo="$root/build/demo"
mkdir -p "$demo"
echo
echo "== slaf generate: 20,000 cells x 20,000 genes of UMI-like counts, genes stored by frequency"
"$root/build/slaf" generate "$demo/demo.seg" --cells 20000 --genes 20000 --density 0.07 --seed 42 --gene-order frequency
echo
echo "== slaf-inspect (first lines)"
"$root/build/slaf-inspect" "$demo/demo.seg" | head -n 12
echo "   ..."
"$root/build/slaf-inspect" "$demo/demo.seg" | tail -n 1
echo
echo "== slaf cells: cells 0 and 19999 (first 12 gene:count pairs each)"
"$root/build/slaf" cells "$demo/demo.seg" 0 19999 | cut -d' ' -f1-16
echo
echo "== slaf scan: decode every value"
"$root/build/slaf" scan "$demo/demo.seg"
