// Deterministic UMI-like synthetic matrices for tests and benchmarks.
//
// Model: gene weights are log-normal (sigma 1.8, heavy-tailed: a few genes
// are in most cells), cell library sizes are log-normal (sigma 0.5). A cell
// with size s detects about density * n_genes * s distinct genes, drawn with
// probability proportional to their weight; each detected gene's count is
// 1 + Poisson(gamma-mixed mean growing with the gene weight and s), a
// negative-binomial-like tail. Every row is generated from its own random
// stream (seed, row), so any row range is reproducible on its own and the
// output does not depend on block sizes. Own RNG and samplers (no <random>
// distributions) keep the output identical across standard libraries.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "slaf/dataset_writer.h"
#include "slaf/segment.h"

namespace slaf {

struct SyntheticSpec {
  uint64_t n_cells = 1000;
  uint32_t n_genes = 2000;
  double density = 0.07;
  uint64_t seed = 42;
};

class SyntheticMatrix {
 public:
  explicit SyntheticMatrix(const SyntheticSpec& spec);

  const SyntheticSpec& spec() const { return spec_; }

  // Rows [begin, end) as CSR with u32 counts, replacing *out.
  void GenerateRows(uint64_t begin, uint64_t end, CsrMatrix* out) const;

  // Relative expression weight of a gene (mean 1 over genes).
  double gene_weight(uint32_t g) const { return weight_[g]; }

 private:
  SyntheticSpec spec_;
  std::vector<double> weight_;       // per gene, mean 1
  std::vector<double> alias_prob_;   // Walker alias table over weight_
  std::vector<uint32_t> alias_idx_;
};

// A whole synthetic dataset: the matrix above plus the obs and var tables a
// scanpy user would have after QC. obs: cell_id, cell_type, batch, leiden
// (categoricals), total_counts, n_genes_by_counts (int64), pct_counts_mt
// (float64, from the MT- genes). var: gene_id (GENE00000 ..., with 13 genes at
// fixed positions named like mitochondrial genes, MT-CO1 ...; names do not
// depend on the seed), mt (bool), n_cells_by_counts
// and total_counts (int64), mean_counts and dispersion (float64),
// highly_variable (bool: the top min(2000, n/10) genes by dispersion).
struct SyntheticDatasetOptions {
  WriteOptions write;
  bool gene_order_frequency = false;  // store genes by descending frequency
  std::string gene_prefix = "GENE";   // gene ids are <prefix>00000, <prefix>00001, ...
  // Called with (cells written, total); may be empty.
  std::function<void(uint64_t, uint64_t)> progress;
};

// Creates the dataset in an empty store; returns the committed version.
Result<uint64_t> WriteSyntheticDataset(std::shared_ptr<io::ObjectStore> store, const SyntheticSpec& spec,
                                       const SyntheticDatasetOptions& options);

}  // namespace slaf
