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
#include <vector>

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

 private:
  SyntheticSpec spec_;
  std::vector<double> weight_;       // per gene, mean 1
  std::vector<double> alias_prob_;   // Walker alias table over weight_
  std::vector<uint32_t> alias_idx_;
};

}  // namespace slaf
