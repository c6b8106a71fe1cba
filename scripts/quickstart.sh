#!/usr/bin/env bash
# Installs what slaf needs (Debian 12, as root), builds it, and runs the main
# job: writes a demo dataset (a directory of segment and table files plus one
# manifest per version), describes it, queries it, scans and verifies it, and
# explains one of its segment files with slaf-inspect.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build"
slaf="$root/build/slaf"
demo="$root/build/demo"
ds="$demo/demo.slaf"
mkdir -p "$demo"
rm -rf "$ds"  # generate refuses to write over an existing dataset
echo
echo "== slaf generate: 20,000 cells x 20,000 genes of UMI-like counts with obs/var, genes stored by frequency"
"$slaf" generate "$ds" --cells 20000 --genes 20000 --density 0.07 --seed 42 --gene-order frequency
echo
echo "== slaf info"
"$slaf" info "$ds"
echo
echo "== slaf versions"
"$slaf" versions "$ds"
echo
echo "== slaf filter: how many B cells have more than 2000 counts?"
"$slaf" filter "$ds" "cell_type = 'B_cell' and total_counts > 2000" --count
echo
echo "== slaf cells: cell_0000000 and cell_0019999 (first 8 gene:count pairs each)"
"$slaf" cells "$ds" cell_0000000 cell_0019999 | cut -d' ' -f1-13
echo
echo "== slaf scan: decode every value"
"$slaf" scan "$ds"
echo
echo "== slaf verify: every file against its checksum in the manifest"
"$slaf" verify "$ds"
echo
seg=$(ls "$ds"/X/*.seg | head -n 1)
echo "== slaf-inspect ${seg#"$root"/} (first lines)"
"$root/build/slaf-inspect" "$seg" | head -n 12
echo "   ..."
"$root/build/slaf-inspect" "$seg" | tail -n 1
