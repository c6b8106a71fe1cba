// TripleSorter against an independent oracle (a std::map of the triples):
// random, row-ordered and column-ordered input, with budgets from "all in
// memory" down to a few KiB (many runs and buckets), empty rows and empty
// matrices, duplicates, out-of-range ids, float bit patterns, and the
// temporary file's lifetime.
#include "engine/triple_sorter.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/dataset_fixtures.h"

namespace slaf::engine {
namespace {

using Key = std::pair<uint64_t, uint32_t>;
using Oracle = std::map<Key, uint32_t>;

struct Triples {
  std::vector<uint64_t> rows;
  std::vector<uint32_t> cols;
  std::vector<uint32_t> values;
  void Push(uint64_t r, uint32_t c, uint32_t v) {
    rows.push_back(r);
    cols.push_back(c);
    values.push_back(v);
  }
};

// Distinct random triples; the oracle holds them.
Triples RandomTriples(uint64_t n_rows, uint32_t n_cols, size_t n, uint64_t seed, Oracle* oracle) {
  std::mt19937_64 rng(seed);
  Triples t;
  while (oracle->size() < n) {
    const uint64_t r = rng() % n_rows;
    const uint32_t c = static_cast<uint32_t>(rng() % n_cols);
    const uint32_t v = static_cast<uint32_t>(rng() % 1000) + 1;
    if (oracle->emplace(Key{r, c}, v).second) t.Push(r, c, v);
  }
  return t;
}

enum class Order { kRandom, kRow, kColumn };

Triples Ordered(const Oracle& oracle, Order order, uint64_t seed) {
  std::vector<std::pair<Key, uint32_t>> v(oracle.begin(), oracle.end());  // row order
  if (order == Order::kColumn) {
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first.second < b.first.second; });
  } else if (order == Order::kRandom) {
    std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  }
  Triples t;
  for (const auto& [k, val] : v) t.Push(k.first, k.second, val);
  return t;
}

// Runs a sort, checks every block's shape and returns what came out as triples.
struct SortResult {
  Status status;
  Oracle got;
  TripleSorterStats stats;
  size_t blocks = 0;
};

SortResult Sort(const TripleSorterOptions& o, const Triples& t, uint64_t block_nnz, size_t add_batch = 1000) {
  SortResult out;
  auto sorter = TripleSorter::Make(o);
  EXPECT_TRUE(sorter.ok()) << sorter.status().ToString();
  for (size_t i = 0; i < t.rows.size() && out.status.ok(); i += add_batch) {
    const size_t n = std::min(add_batch, t.rows.size() - i);
    out.status = (*sorter)->Add(&t.rows[i], &t.cols[i], &t.values[i], n);
  }
  if (!out.status.ok()) return out;
  uint64_t next_row = 0;
  out.status = (*sorter)->Finish(block_nnz, [&](const CsrMatrix& b) {
    ++out.blocks;
    EXPECT_GT(b.n_rows, 0u);
    EXPECT_EQ(b.n_cols, o.n_cols);
    EXPECT_EQ(b.value_type, o.value_type);
    EXPECT_EQ(b.indptr.size(), b.n_rows + 1);
    EXPECT_EQ(b.indptr[0], 0u);
    EXPECT_EQ(b.indptr.back(), b.nnz());
    EXPECT_EQ(o.value_type == ValueType::kUInt32 ? b.counts.size() : b.floats.size(), b.nnz());
    // Closed at the first row end at or past block_nnz: only the last row
    // may carry it past.
    if (b.n_rows > 1) {
      EXPECT_LT(b.indptr[b.n_rows - 1], std::max<uint64_t>(block_nnz, 1));
    }
    for (uint64_t r = 0; r < b.n_rows; ++r) {
      for (uint64_t k = b.indptr[r]; k < b.indptr[r + 1]; ++k) {
        if (k > b.indptr[r]) {
          EXPECT_LT(b.indices[k - 1], b.indices[k]) << "row " << next_row + r;
        }
        const uint32_t v = o.value_type == ValueType::kUInt32 ? b.counts[k] : std::bit_cast<uint32_t>(b.floats[k]);
        out.got.emplace(Key{next_row + r, b.indices[k]}, v);
      }
    }
    next_row += b.n_rows;
    return Status::OK();
  });
  if (out.status.ok()) {
    EXPECT_EQ(next_row, o.n_rows) << "blocks must cover every row";
  }
  out.stats = (*sorter)->stats();
  return out;
}

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  closedir(d);
  return n;
}

TEST(TripleSorter, AllOrdersAndBudgetsMatchTheOracle) {
  testing::TempDir spill;
  const uint64_t n_rows = 500;
  const uint32_t n_cols = 300;
  Oracle oracle;
  RandomTriples(n_rows, n_cols, 20000, 1, &oracle);
  for (Order order : {Order::kRandom, Order::kRow, Order::kColumn}) {
    const Triples t = Ordered(oracle, order, 2);
    for (uint64_t budget : {uint64_t{256} << 20, uint64_t{64} << 10, uint64_t{4} << 10}) {
      SCOPED_TRACE("order " + std::to_string(static_cast<int>(order)) + ", budget " + std::to_string(budget));
      TripleSorterOptions o;
      o.n_rows = n_rows;
      o.n_cols = n_cols;
      o.memory_bytes = budget;
      o.spill_dir = spill.path();
      o.what = "test input";
      const SortResult r = Sort(o, t, 700);
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
      EXPECT_EQ(r.got, oracle);
      EXPECT_EQ(r.stats.entries, oracle.size());
      if (budget == (uint64_t{256} << 20)) {
        EXPECT_EQ(r.stats.runs, 0u) << "everything fits: no disk";
        EXPECT_EQ(r.stats.spilled_bytes, 0u);
      } else {
        EXPECT_GT(r.stats.runs, 1u);
        EXPECT_EQ(r.stats.spilled_bytes, oracle.size() * 16);
        EXPECT_GT(r.stats.buckets, 1u);
        // Buckets fit the budget (8 bytes per entry) and so does the entry
        // buffer, whatever the input order; the I/O buffer is 1 MiB.
        EXPECT_LE(r.stats.max_bucket_entries * 8, budget);
        EXPECT_LE(r.stats.peak_bytes, budget + (1u << 20));
      }
      EXPECT_EQ(FilesIn(spill.path()), 0u);
    }
  }
}

TEST(TripleSorter, ManyBucketsFromATinyBudget) {
  testing::TempDir spill;
  Oracle oracle;
  const Triples t = RandomTriples(3000, 2000, 60000, 3, &oracle);
  TripleSorterOptions o;
  o.n_rows = 3000;
  o.n_cols = 2000;
  o.memory_bytes = 2048;  // 85 entries per run, 256 per bucket
  o.spill_dir = spill.path();
  const SortResult r = Sort(o, t, 1, 777);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.got, oracle);
  EXPECT_GT(r.stats.runs, 500u);
  EXPECT_GT(r.stats.buckets, 200u);
  EXPECT_EQ(r.blocks, 3000u) << "block_nnz 1: one row per block (rows have entries)";
}

TEST(TripleSorter, EmptyRowsAndEmptyMatrices) {
  testing::TempDir spill;
  for (uint64_t budget : {uint64_t{1} << 20, uint64_t{2048}}) {
    // Entries only in rows 3, 500 and 9999 of 10000.
    Oracle oracle;
    Triples t;
    for (uint32_t c = 0; c < 300; ++c) {
      for (uint64_t r : {uint64_t{9999}, uint64_t{3}, uint64_t{500}}) {
        t.Push(r, 299 - c, c + 1);
        oracle[{r, 299 - c}] = c + 1;
      }
    }
    TripleSorterOptions o;
    o.n_rows = 10000;
    o.n_cols = 300;
    o.memory_bytes = budget;
    o.spill_dir = spill.path();
    SortResult r = Sort(o, t, 1000);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.got, oracle);

    // No entries at all: rows are still emitted, empty.
    o.n_rows = 5;
    r = Sort(o, Triples{}, 10);
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.blocks, 1u);
    EXPECT_TRUE(r.got.empty());

    // No rows: no block.
    o.n_rows = 0;
    o.n_cols = 0;
    r = Sort(o, Triples{}, 10);
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.blocks, 0u);
  }
}

TEST(TripleSorter, DuplicatesAreRejectedNamingRowAndColumn) {
  testing::TempDir spill;
  for (uint64_t budget : {uint64_t{1} << 20, uint64_t{2048}}) {
    Oracle oracle;
    Triples t = RandomTriples(100, 100, 3000, 4, &oracle);
    // The same pair again, far from the first, with another value.
    const uint64_t r0 = t.rows[17];
    const uint32_t c0 = t.cols[17];
    t.Push(r0, c0, 5);
    std::swap(t.rows.back(), t.rows[2500]);
    std::swap(t.cols.back(), t.cols[2500]);
    std::swap(t.values.back(), t.values[2500]);
    TripleSorterOptions o;
    o.n_rows = 100;
    o.n_cols = 100;
    o.memory_bytes = budget;
    o.spill_dir = spill.path();
    o.what = "matrix.mtx.gz";
    const SortResult r = Sort(o, t, 100);
    ASSERT_TRUE(r.status.IsInvalidArgument()) << r.status.ToString();
    EXPECT_NE(r.status.message().find("matrix.mtx.gz"), std::string::npos) << r.status.message();
    EXPECT_NE(r.status.message().find("row " + std::to_string(r0) + ", column " + std::to_string(c0)), std::string::npos)
        << r.status.message();
    EXPECT_EQ(FilesIn(spill.path()), 0u);
  }
}

TEST(TripleSorter, OutOfRangeIdsAreRejected) {
  TripleSorterOptions o;
  o.n_rows = 10;
  o.n_cols = 20;
  o.what = "genes.tsv";
  auto s = TripleSorter::Make(o);
  ASSERT_TRUE(s.ok());
  const uint64_t rows[] = {1, 10};
  const uint32_t cols[] = {1, 2};
  const uint32_t vals[] = {1, 1};
  Status st = (*s)->Add(rows, cols, vals, 2);
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("row 10"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("genes.tsv"), std::string::npos) << st.message();
  // Unusable afterwards.
  EXPECT_FALSE((*s)->Finish(10, [](const CsrMatrix&) { return Status::OK(); }).ok());

  auto s2 = TripleSorter::Make(o);
  const uint64_t rows2[] = {1};
  const uint32_t cols2[] = {20};
  st = (*s2)->Add(rows2, cols2, vals, 1);
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("column 20"), std::string::npos) << st.message();

  o.n_rows = (1ull << 40) + 1;
  EXPECT_TRUE(TripleSorter::Make(o).status().IsInvalidArgument());
}

TEST(TripleSorter, FloatValuesAreBitExact) {
  testing::TempDir spill;
  const std::vector<uint32_t> specials = {
      std::bit_cast<uint32_t>(-0.0f), std::bit_cast<uint32_t>(1.5f), 0x7fc00001u /* quiet NaN, payload */,
      0xffc12345u /* negative NaN */, 0x00000001u /* smallest denormal */, std::bit_cast<uint32_t>(INFINITY),
      std::bit_cast<uint32_t>(-INFINITY), std::bit_cast<uint32_t>(3.4028235e38f)};
  Oracle oracle;
  Triples t;
  std::mt19937_64 rng(9);
  for (uint64_t r = 0; r < 200; ++r) {
    for (uint32_t c = 0; c < 40; ++c) {
      if (rng() % 3) continue;
      const uint32_t v = specials[rng() % specials.size()];
      oracle[{r, c}] = v;
    }
  }
  t = Ordered(oracle, Order::kColumn, 0);
  for (uint64_t budget : {uint64_t{1} << 20, uint64_t{2048}}) {
    TripleSorterOptions o;
    o.n_rows = 200;
    o.n_cols = 40;
    o.value_type = ValueType::kFloat32;
    o.memory_bytes = budget;
    o.spill_dir = spill.path();
    const SortResult r = Sort(o, t, 64);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.got, oracle);
  }
}

TEST(TripleSorter, ARowLargerThanTheBudgetStillSorts) {
  testing::TempDir spill;
  Oracle oracle;
  Triples t;
  for (uint32_t c = 0; c < 5000; ++c) {
    const uint32_t col = (c * 7919u) % 5000u;  // a permutation: not ascending
    t.Push(2, col, c + 1);
    oracle[{2, col}] = c + 1;
    if (c % 10 == 0) {
      t.Push(0, c, 1);
      oracle[{0, c}] = 1;
    }
  }
  TripleSorterOptions o;
  o.n_rows = 4;
  o.n_cols = 5000;
  o.memory_bytes = 4096;
  o.spill_dir = spill.path();
  const SortResult r = Sort(o, t, 100);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.got, oracle);
  EXPECT_EQ(r.stats.max_bucket_entries, 5000u);
}

TEST(TripleSorter, TemporaryFileNeverOutlivesTheSorter) {
  testing::TempDir spill;
  Oracle oracle;
  const Triples t = RandomTriples(100, 100, 5000, 5, &oracle);
  TripleSorterOptions o;
  o.n_rows = 100;
  o.n_cols = 100;
  o.memory_bytes = 2048;
  o.spill_dir = spill.path();
  {
    auto s = TripleSorter::Make(o);
    ASSERT_TRUE((*s)->Add(t.rows.data(), t.cols.data(), t.values.data(), t.rows.size()).ok());
    EXPECT_GT((*s)->stats().runs, 0u);
    // Unlinked at creation: nothing to see even while the sorter spills.
    EXPECT_EQ(FilesIn(spill.path()), 0u);
    // An error from emit stops the sort and comes back.
    const Status st = (*s)->Finish(10, [](const CsrMatrix&) { return Status::IOError("disk full"); });
    EXPECT_EQ(st.ToString(), "IOError: disk full");
  }
  EXPECT_EQ(FilesIn(spill.path()), 0u);

  // A spill directory that does not exist: the error names it.
  o.spill_dir = spill / "missing";
  auto s = TripleSorter::Make(o);
  const Status st = (*s)->Add(t.rows.data(), t.cols.data(), t.values.data(), t.rows.size());
  ASSERT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_NE(st.message().find(spill / "missing"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace slaf::engine
