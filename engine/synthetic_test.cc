// The synthetic generator: deterministic per row, density as requested.
#include "slaf/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace slaf {
namespace {

bool Same(const CsrMatrix& a, const CsrMatrix& b) {
  return a.n_rows == b.n_rows && a.n_cols == b.n_cols && a.indptr == b.indptr && a.indices == b.indices && a.counts == b.counts;
}

TEST(Synthetic, SameSpecSameRows) {
  const SyntheticSpec spec{300, 500, 0.05, 7};
  CsrMatrix a, b;
  SyntheticMatrix(spec).GenerateRows(0, 300, &a);
  SyntheticMatrix(spec).GenerateRows(0, 300, &b);
  EXPECT_TRUE(Same(a, b));
  SyntheticSpec other = spec;
  other.seed = 8;
  SyntheticMatrix(other).GenerateRows(0, 300, &b);
  EXPECT_FALSE(Same(a, b)) << "another seed must give another matrix";
}

TEST(Synthetic, RowRangesAreSlicesOfTheWhole) {
  const SyntheticMatrix gen({1000, 800, 0.04, 3});
  CsrMatrix whole, part;
  gen.GenerateRows(0, 1000, &whole);
  for (auto [a, b] : {std::pair<uint64_t, uint64_t>{0, 1}, {17, 18}, {100, 350}, {999, 1000}, {400, 400}, {0, 1000}}) {
    gen.GenerateRows(a, b, &part);
    ASSERT_EQ(part.n_rows, b - a);
    ASSERT_EQ(part.indptr.size(), b - a + 1);
    const uint64_t base = whole.indptr[a];
    for (uint64_t r = 0; r <= b - a; ++r) ASSERT_EQ(part.indptr[r], whole.indptr[a + r] - base) << a << ".." << b;
    ASSERT_TRUE(std::equal(part.indices.begin(), part.indices.end(), whole.indices.begin() + base, whole.indices.begin() + whole.indptr[b]));
    ASSERT_TRUE(std::equal(part.counts.begin(), part.counts.end(), whole.counts.begin() + base, whole.counts.begin() + whole.indptr[b]));
  }
  // Generating replaces *out rather than appending.
  gen.GenerateRows(5, 6, &part);
  gen.GenerateRows(5, 6, &part);
  EXPECT_EQ(part.n_rows, 1u);
}

TEST(Synthetic, ShapeDensityAndValues) {
  for (const SyntheticSpec& spec : {SyntheticSpec{2000, 2000, 0.07, 42}, SyntheticSpec{3000, 500, 0.2, 1}, SyntheticSpec{2000, 5000, 0.01, 9}}) {
    CsrMatrix m;
    SyntheticMatrix(spec).GenerateRows(0, spec.n_cells, &m);
    ASSERT_EQ(m.n_rows, spec.n_cells);
    ASSERT_EQ(m.n_cols, spec.n_genes);
    ASSERT_EQ(m.value_type, ValueType::kUInt32);
    ASSERT_EQ(m.indptr.size(), m.n_rows + 1);
    ASSERT_EQ(m.indptr.back(), m.indices.size());
    ASSERT_EQ(m.counts.size(), m.indices.size());
    for (uint64_t r = 0; r < m.n_rows; ++r) {
      ASSERT_GE(m.indptr[r + 1], m.indptr[r] + 1) << "every cell detects a gene";
      for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
        ASSERT_LT(m.indices[k], spec.n_genes);
        if (k > m.indptr[r]) {
          ASSERT_GT(m.indices[k], m.indices[k - 1]) << "row " << r;
        }
        ASSERT_GE(m.counts[k], 1u);
      }
    }
    const double density = static_cast<double>(m.nnz()) / (static_cast<double>(spec.n_cells) * spec.n_genes);
    EXPECT_NEAR(density, spec.density, 0.2 * spec.density) << "seed " << spec.seed;
  }
}

TEST(Synthetic, HeavyTailedGenes) {
  // Gene weights are log-normal: the most frequent gene is in far more cells
  // than the median one.
  CsrMatrix m;
  SyntheticMatrix({2000, 1000, 0.05, 5}).GenerateRows(0, 2000, &m);
  std::vector<uint64_t> n(1000, 0);
  for (uint32_t c : m.indices) ++n[c];
  std::vector<uint64_t> sorted = n;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_GT(sorted.back(), 10 * std::max<uint64_t>(1, sorted[500]));
}

}  // namespace
}  // namespace slaf
