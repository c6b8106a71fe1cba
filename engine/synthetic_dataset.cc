// WriteSyntheticDataset: the synthetic matrix with QC-style obs and var.
// Cell annotations come from their own per-cell random streams, so they do
// not depend on block sizes either.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "engine/csr_util.h"
#include "slaf/synthetic.h"

namespace slaf {

namespace {

// splitmix64: a tiny independent stream for annotations.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

const char* const kCellTypes[] = {"T_cell", "B_cell", "NK", "CD14_Mono", "FCGR3A_Mono",
                                  "DC", "Platelet", "Plasma", "HSC", "Erythrocyte"};
// Cumulative shares of the cell types above, in percent.
const int kCellTypeCum[] = {38, 50, 60, 78, 85, 89, 92, 95, 98, 100};
const char* const kMtGenes[] = {"MT-CO1", "MT-CO2", "MT-CO3", "MT-CYB", "MT-ND1", "MT-ND2", "MT-ND3",
                                "MT-ND4", "MT-ND4L", "MT-ND5", "MT-ND6", "MT-ATP6", "MT-ATP8"};

}  // namespace

Result<uint64_t> WriteSyntheticDataset(std::shared_ptr<io::ObjectStore> store, const SyntheticSpec& spec,
                                       const SyntheticDatasetOptions& options) {
  const SyntheticMatrix gen(spec);
  const uint32_t g = spec.n_genes;
  constexpr uint64_t kBlock = 4096;
  CsrMatrix block;
  WriteOptions wo = options.write;
  if (options.gene_order_frequency) {  // first pass: per-gene nonzero counts
    std::vector<uint64_t> gene_nnz(g, 0);
    for (uint64_t r = 0; r < spec.n_cells; r += kBlock) {
      gen.GenerateRows(r, std::min(spec.n_cells, r + kBlock), &block);
      for (uint32_t x : block.indices) ++gene_nnz[x];
    }
    wo.segment.stored_to_original = FrequencyOrder(gene_nnz);
  }
  // Gene names depend only on the gene count, not on the seed, so datasets
  // generated with other seeds can be appended to each other. The 13
  // mitochondrial names go to the genes at fixed, evenly spaced positions.
  const size_t n_mt = std::min<size_t>(13, g);
  std::vector<uint8_t> is_mt(g, 0);
  std::vector<std::string> gene_names(g);
  char buf[64];
  for (uint32_t x = 0; x < g; ++x) {
    std::snprintf(buf, sizeof buf, "%05u", x);
    gene_names[x] = options.gene_prefix + buf;
  }
  for (size_t k = 0; k < n_mt; ++k) {
    const uint32_t x = static_cast<uint32_t>(k * (g / n_mt));
    is_mt[x] = 1;
    gene_names[x] = kMtGenes[k];
  }

  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx, Transaction::Create(store, g, ValueType::kUInt32, wo));
  const uint64_t n = spec.n_cells;
  Column cell_id;
  cell_id.name = "cell_id";
  cell_id.type = ColumnType::kString;
  cell_id.offsets.reserve(n + 1);
  cell_id.offsets.push_back(0);
  std::vector<uint32_t> type_codes(n), batch_codes(n), leiden_codes(n);
  std::vector<int64_t> totals(n), ngenes(n);
  std::vector<double> pct_mt(n);
  std::vector<uint64_t> gene_nnz(g, 0);
  std::vector<double> gene_sum(g, 0), gene_sq(g, 0);
  for (uint64_t r = 0; r < n; r += kBlock) {
    const uint64_t end = std::min(n, r + kBlock);
    gen.GenerateRows(r, end, &block);
    SLAF_RETURN_IF_ERROR(tx->AppendCells(engine::ViewOf(block)));
    for (uint64_t i = 0; i < block.n_rows; ++i) {
      const uint64_t c = r + i;
      std::snprintf(buf, sizeof buf, "cell_%07llu", static_cast<unsigned long long>(c));
      cell_id.chars += buf;
      cell_id.offsets.push_back(cell_id.chars.size());
      const uint64_t h = Mix(spec.seed * 0x1000193ull ^ Mix(c));
      const int pct = static_cast<int>(h % 100);
      uint32_t t = 0;
      while (pct >= kCellTypeCum[t]) ++t;
      type_codes[c] = t;
      batch_codes[c] = static_cast<uint32_t>((h >> 8) % 4);
      leiden_codes[c] = static_cast<uint32_t>(((h >> 16) % 3 + t * 2) % 20);
      int64_t total = 0, mt = 0;
      for (uint64_t k = block.indptr[i]; k < block.indptr[i + 1]; ++k) {
        const uint32_t x = block.indices[k];
        const uint32_t v = block.counts[k];
        total += v;
        if (is_mt[x]) mt += v;
        ++gene_nnz[x];
        gene_sum[x] += v;
        gene_sq[x] += static_cast<double>(v) * v;
      }
      totals[c] = total;
      ngenes[c] = static_cast<int64_t>(block.indptr[i + 1] - block.indptr[i]);
      pct_mt[c] = total ? 100.0 * static_cast<double>(mt) / static_cast<double>(total) : 0.0;
    }
    if (options.progress) options.progress(end, n);
  }
  Table obs;
  obs.n_rows = n;
  cell_id.n_rows = n;
  obs.columns.push_back(std::move(cell_id));
  obs.columns.push_back(Column::Categorical("cell_type", std::move(type_codes),
                                            std::vector<std::string>(std::begin(kCellTypes), std::end(kCellTypes))));
  obs.columns.push_back(Column::Categorical("batch", std::move(batch_codes), {"batch_0", "batch_1", "batch_2", "batch_3"}));
  std::vector<std::string> leiden;
  for (int k = 0; k < 20; ++k) leiden.push_back(std::to_string(k));
  obs.columns.push_back(Column::Categorical("leiden", std::move(leiden_codes), leiden));
  obs.columns.push_back(Column::Int64("total_counts", std::move(totals)));
  obs.columns.push_back(Column::Int64("n_genes_by_counts", std::move(ngenes)));
  obs.columns.push_back(Column::Float64("pct_counts_mt", std::move(pct_mt)));
  SLAF_RETURN_IF_ERROR(tx->AppendObs(obs));

  // var: per-gene QC and a dispersion-ranked highly_variable flag.
  std::vector<int64_t> n_cells_by(g), gtotal(g);
  std::vector<double> mean(g), disp(g);
  const double nc = n ? static_cast<double>(n) : 1.0;
  for (uint32_t x = 0; x < g; ++x) {
    n_cells_by[x] = static_cast<int64_t>(gene_nnz[x]);
    gtotal[x] = static_cast<int64_t>(gene_sum[x]);
    mean[x] = gene_sum[x] / nc;
    const double var = n > 1 ? std::max(0.0, (gene_sq[x] - nc * mean[x] * mean[x]) / (nc - 1)) : 0.0;
    disp[x] = mean[x] > 0 ? var / mean[x] : 0.0;
  }
  std::vector<uint32_t> order(g);
  std::iota(order.begin(), order.end(), 0u);
  const size_t n_hvg = std::min<size_t>(2000, g / 10);
  std::partial_sort(order.begin(), order.begin() + n_hvg, order.end(),
                    [&](uint32_t a, uint32_t b) { return disp[a] != disp[b] ? disp[a] > disp[b] : a < b; });
  std::vector<uint8_t> hvg(g, 0);
  for (size_t k = 0; k < n_hvg; ++k) hvg[order[k]] = 1;
  Table var;
  var.n_rows = g;
  var.columns.push_back(Column::String("gene_id", gene_names));
  var.columns.push_back(Column::Bool("mt", is_mt));
  var.columns.push_back(Column::Int64("n_cells_by_counts", std::move(n_cells_by)));
  var.columns.push_back(Column::Int64("total_counts", std::move(gtotal)));
  var.columns.push_back(Column::Float64("mean_counts", std::move(mean)));
  var.columns.push_back(Column::Float64("dispersion", std::move(disp)));
  var.columns.push_back(Column::Bool("highly_variable", std::move(hvg)));
  SLAF_RETURN_IF_ERROR(tx->SetVar(var));
  char uns[256];
  std::snprintf(uns, sizeof uns, R"({"generator": {"name": "slaf generate", "cells": %llu, "genes": %u, "density": %.17g, "seed": %llu}})",
                static_cast<unsigned long long>(n), g, spec.density, static_cast<unsigned long long>(spec.seed));
  SLAF_RETURN_IF_ERROR(tx->SetUns(uns));
  return tx->Commit();
}

}  // namespace slaf
