#!/usr/bin/env bash
# Installs what slaf needs (Debian 12, as root), builds it, and runs the main
# job: converts the bundled 10x PBMC 3k dataset (demo/) into a dataset,
# describes it, asks it what a biologist would (top genes, cell-type markers,
# cells per count band, one cell, SQL queries, one over HTTP from a local nginx), exports it
# back to h5ad, verifies it and
# explains one segment file with slaf-inspect; then generates a synthetic
# dataset and filters its cells by metadata.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build"
slaf="$root/build/slaf"
demo="$root/build/demo"
mkdir -p "$demo"
pbmc="$demo/pbmc3k.slaf"
rm -rf "$pbmc"  # convert refuses to write over an existing dataset
echo
echo "== slaf convert: the bundled 10x PBMC 3k (Cell Ranger MTX, 2,700 cells) into a dataset"
"$slaf" convert "$root/demo/pbmc3k/filtered_gene_bc_matrices" "$pbmc" --gene-index
echo
echo "== slaf info"
"$slaf" info "$pbmc"
echo
echo "== slaf stats: the 10 genes with the most UMIs (MALAT1, TMSB4X, B2M and ribosomal genes lead in PBMCs)"
"$slaf" stats "$pbmc" --genes --top 10
echo
echo "== slaf stats: B-cell (MS4A1, CD79A), T-cell (CD3E) and monocyte (CD14, LYZ) markers: in how many cells?"
"$slaf" stats "$pbmc" --genes --where "gene_symbol in ('MS4A1', 'CD79A', 'CD3E', 'CD14', 'LYZ')"
echo
echo "== slaf genes: the B-cell marker MS4A1 over all cells, top 8 cells (read through the gene index)"
"$slaf" genes "$pbmc" MS4A1 --limit 8
echo
echo "== slaf stats: cells per band of total UMI counts"
"$slaf" stats "$pbmc" --cells --bands 1000,2000,3000,5000
echo
echo "== slaf cells: the first cell's first 8 gene:count pairs"
"$slaf" cells "$pbmc" AAACATACAACCAC-1 | cut -d' ' -f1-9
echo
echo "== slaf query: SQL over cells, genes and expression. Top genes by UMIs, with symbols (a join)"
"$slaf" query "$pbmc" "SELECT g.gene_symbol, SUM(e.value) AS umis, COUNT(*) AS cells
  FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id
  GROUP BY g.gene_symbol ORDER BY umis DESC LIMIT 5"
echo
echo "== slaf query: cells with more than 5,000 UMIs, from a per-cell aggregate (CTE)"
"$slaf" query "$pbmc" "WITH per_cell AS (SELECT cell_integer_id, SUM(value) AS umis, COUNT(*) AS genes FROM expression GROUP BY 1)
  SELECT COUNT(*) AS cells, ROUND(AVG(genes), 1) AS mean_genes FROM per_cell WHERE umis > 5000"
echo
echo "== slaf query --explain: the top MS4A1 cells; the gene filter restricts the scan to one gene (gene index)"
"$slaf" query "$pbmc" "SELECT c.cell_id, e.value FROM expression e
  JOIN genes g ON e.gene_integer_id = g.gene_integer_id JOIN cells c ON c.cell_integer_id = e.cell_integer_id
  WHERE g.gene_symbol = 'MS4A1' ORDER BY e.value DESC, c.cell_id LIMIT 3" --explain
echo
echo "== slaf over HTTP: a local nginx serves build/demo; the same question, fetching only the byte ranges it needs"
port=$(/usr/bin/python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
web="$demo/nginx"
mkdir -p "$web"
user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user root;"
cat > "$web/nginx.conf" <<CONF
$user_line
worker_processes 1; daemon off; pid $web/nginx.pid; error_log $web/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $web/body; proxy_temp_path $web/proxy; fastcgi_temp_path $web/fcgi;
       uwsgi_temp_path $web/uwsgi; scgi_temp_path $web/scgi;
       server { listen 127.0.0.1:$port; root $demo; location / { } } }
CONF
/usr/sbin/nginx -c "$web/nginx.conf" -p "$web" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$slaf" query "http://127.0.0.1:$port/pbmc3k.slaf" "SELECT c.cell_id, e.value FROM expression e
  JOIN genes g ON e.gene_integer_id = g.gene_integer_id JOIN cells c ON c.cell_integer_id = e.cell_integer_id
  WHERE g.gene_symbol = 'MS4A1' ORDER BY e.value DESC, c.cell_id LIMIT 3" --stats
echo "   (of $(du -sb "$pbmc" | cut -f1) bytes in the dataset; s3://bucket/prefix works the same way, with writes: docs/remote.md)"
kill $nginx_pid 2>/dev/null || true
wait $nginx_pid 2>/dev/null || true
trap - EXIT
echo
echo "== slaf export: back to h5ad (anndata reads it) "
rm -f "$demo/pbmc3k.h5ad"
"$slaf" export "$pbmc" "$demo/pbmc3k.h5ad" --to h5ad
echo
echo "== slaf verify: every file against its checksum in the manifest"
"$slaf" verify "$pbmc"
echo
seg=$(ls "$pbmc"/X/*.seg | head -n 1)
echo "== slaf-inspect ${seg#"$root"/} (first lines)"
("$root/build/slaf-inspect" "$seg" || true) | head -n 12  # head stops reading early: no SIGPIPE failure
echo "   ..."
"$root/build/slaf-inspect" "$seg" | tail -n 1
echo
ds="$demo/synthetic.slaf"
rm -rf "$ds"
echo "== slaf generate: a synthetic 20,000-cell dataset with obs/var, then a metadata filter"
"$slaf" generate "$ds" --cells 20000 --genes 20000 --density 0.07 --seed 42 --gene-order frequency --quiet
"$slaf" filter "$ds" "cell_type = 'B_cell' and total_counts > 2000" --count
