// SegmentWriter and SegmentReader (format-spec §2, §4) against CSR matrices
// generated in the test: every read path, scans with every projection and
// filter, zone maps, and writer input checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "slaf/file.h"
#include "slaf/segment.h"

namespace slaf {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------
// Test matrices and naive reference operations on them.

struct Shape {
  const char* name;
  uint64_t rows;
  uint32_t cols;
  ValueType type;
  double density;
  int empty_row_pct;  // rows forced to hold no entries
  int zero_pct;       // explicit zero values (u32 only)
  bool big_values;    // u32 values up to 2^32-1
  uint64_t seed;
  bool one_huge_row = false;  // only the middle row has `density`; others ~1/1000 of it
};

uint32_t RandomCount(std::mt19937_64* rng, const Shape& s) {
  const uint64_t r = (*rng)();
  if (s.zero_pct && static_cast<int>(r % 100) < s.zero_pct) return 0;
  if (s.big_values) {
    switch ((r >> 8) % 4) {
      case 0: return 0xFFFFFFFFu;
      case 1: return static_cast<uint32_t>(r >> 32) | 1;
      default: break;
    }
  }
  return 1 + static_cast<uint32_t>((r >> 16) % ((r >> 40) % 8 == 0 ? 1000 : 6));
}

float RandomFloat(std::mt19937_64* rng) {
  const uint64_t r = (*rng)();
  switch (r % 10) {
    case 0: return -0.0f;
    case 1: return 1e-40f;  // subnormal
    case 2: return -static_cast<float>((r >> 8) % 100);
    case 3: return (r >> 8) % 2 ? FLT_MAX / 4 : -FLT_MAX / 4;
    default: return static_cast<float>(static_cast<int64_t>(r >> 20) % 2000000 - 1000000) / 1024.0f;
  }
}

CsrMatrix Generate(const Shape& s) {
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<double> u(0, 1);
  CsrMatrix m;
  m.Clear(s.cols, s.type);
  for (uint64_t r = 0; r < s.rows; ++r) {
    const bool empty = static_cast<int>(rng() % 100) < s.empty_row_pct;
    const double density = s.one_huge_row && r != s.rows / 2 ? s.density / 1000 : s.density;
    for (uint32_t c = 0; c < s.cols && !empty; ++c) {
      if (u(rng) >= density) continue;
      m.indices.push_back(c);
      if (s.type == ValueType::kUInt32) m.counts.push_back(RandomCount(&rng, s));
      else m.floats.push_back(RandomFloat(&rng));
    }
    m.indptr.push_back(m.indices.size());
    ++m.n_rows;
  }
  return m;
}

uint32_t ValueBits(const CsrMatrix& m, size_t k) {
  return m.value_type == ValueType::kUInt32 ? m.counts[k] : std::bit_cast<uint32_t>(m.floats[k]);
}

// Appends row r of `src` to *dst, keeping only entries `keep` accepts and
// renaming columns by `rename`.
template <typename Keep, typename Rename>
void AppendRow(const CsrMatrix& src, uint64_t r, CsrMatrix* dst, Keep keep, Rename rename) {
  for (uint64_t k = src.indptr[r]; k < src.indptr[r + 1]; ++k) {
    if (!keep(src.indices[k], src.value(k))) continue;
    dst->indices.push_back(rename(src.indices[k]));
    if (src.value_type == ValueType::kUInt32) dst->counts.push_back(src.counts[k]);
    else dst->floats.push_back(src.floats[k]);
  }
  dst->indptr.push_back(dst->indices.size());
  ++dst->n_rows;
}

CsrMatrix SelectRows(const CsrMatrix& m, std::span<const uint64_t> rows) {
  CsrMatrix out;
  out.Clear(m.n_cols, m.value_type);
  for (uint64_t r : rows) AppendRow(m, r, &out, [](uint32_t, double) { return true; }, [](uint32_t c) { return c; });
  return out;
}

// Naive submatrix: spread each row into a dense vector, then read the
// requested columns in the order given.
CsrMatrix Submatrix(const CsrMatrix& m, std::span<const uint64_t> rows, std::span<const uint32_t> cols) {
  CsrMatrix out;
  out.Clear(static_cast<uint32_t>(cols.size()), m.value_type);
  std::vector<uint64_t> dense(m.n_cols, 0);  // entry index + 1, 0 = absent
  for (uint64_t r : rows) {
    for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) dense[m.indices[k]] = k + 1;
    for (uint32_t j = 0; j < cols.size(); ++j) {
      if (!dense[cols[j]]) continue;
      const uint64_t k = dense[cols[j]] - 1;
      out.indices.push_back(j);
      if (m.value_type == ValueType::kUInt32) out.counts.push_back(m.counts[k]);
      else out.floats.push_back(m.floats[k]);
    }
    for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) dense[m.indices[k]] = 0;
    out.indptr.push_back(out.indices.size());
    ++out.n_rows;
  }
  return out;
}

::testing::AssertionResult SameCsr(const CsrMatrix& got, const CsrMatrix& want) {
  if (got.n_rows != want.n_rows) return ::testing::AssertionFailure() << "n_rows " << got.n_rows << " vs " << want.n_rows;
  if (got.n_cols != want.n_cols) return ::testing::AssertionFailure() << "n_cols " << got.n_cols << " vs " << want.n_cols;
  if (got.value_type != want.value_type) return ::testing::AssertionFailure() << "value_type differs";
  if (got.indptr != want.indptr) {
    for (size_t r = 0; r < std::min(got.indptr.size(), want.indptr.size()); ++r) {
      if (got.indptr[r] != want.indptr[r]) return ::testing::AssertionFailure() << "indptr[" << r << "] " << got.indptr[r] << " vs " << want.indptr[r];
    }
    return ::testing::AssertionFailure() << "indptr sizes " << got.indptr.size() << " vs " << want.indptr.size();
  }
  const size_t vals = want.value_type == ValueType::kUInt32 ? got.counts.size() : got.floats.size();
  if (got.indices.size() != want.nnz() || vals != want.nnz()) return ::testing::AssertionFailure() << "array sizes differ from nnz " << want.nnz();
  for (size_t k = 0; k < want.nnz(); ++k) {
    if (got.indices[k] != want.indices[k]) return ::testing::AssertionFailure() << "indices[" << k << "] " << got.indices[k] << " vs " << want.indices[k];
    if (ValueBits(got, k) != ValueBits(want, k)) return ::testing::AssertionFailure() << "value[" << k << "] " << got.value(k) << " vs " << want.value(k);
  }
  if (!got.counts.empty() && !got.floats.empty()) return ::testing::AssertionFailure() << "both value arrays filled";
  return ::testing::AssertionSuccess();
}

std::vector<uint64_t> ColNnz(const CsrMatrix& m) {
  std::vector<uint64_t> n(m.n_cols, 0);
  for (uint32_t c : m.indices) ++n[c];
  return n;
}

// Writes m through SegmentWriter, appending rows in random-sized batches.
std::vector<uint8_t> WriteSegment(const CsrMatrix& m, const SegmentWriterOptions& opt, uint64_t split_seed,
                                  SegmentWriteStats* stats = nullptr) {
  std::vector<uint8_t> bytes;
  auto file = io::NewMemoryWritableFile("test.seg", &bytes);
  auto w = SegmentWriter::Create(file.get(), opt);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (!w.ok()) return {};
  std::mt19937_64 rng(split_seed);
  for (uint64_t r = 0; r < m.n_rows;) {
    const uint64_t n = std::min<uint64_t>(m.n_rows - r, 1 + rng() % 700);
    CsrRowsView v;
    v.n_rows = n;
    v.indptr = m.indptr.data() + r;
    v.indices = m.indices.data();
    v.counts = m.counts.data();
    v.floats = m.floats.data();
    const Status s = (*w)->AppendRows(v);
    EXPECT_TRUE(s.ok()) << s.ToString();
    r += n;
  }
  auto st = (*w)->Finish();
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (st.ok() && stats) *stats = *st;
  return bytes;
}

std::unique_ptr<SegmentReader> OpenSegment(std::vector<uint8_t> bytes) {
  auto r = SegmentReader::Open(io::NewMemoryFile("test.seg", std::move(bytes)));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : nullptr;
}

// ---------------------------------------------------------------------------
// Scans against the naive filter.

void CheckScan(const SegmentReader& reader, const CsrMatrix& m, const ScanOptions& opt, const std::string& what) {
  SCOPED_TRACE(what);
  const bool by_value = opt.value_min > -kInf || opt.value_max < kInf;
  std::vector<uint8_t> selected(m.n_cols, opt.columns.empty() ? 1 : 0);
  for (uint32_t c : opt.columns) selected[c] = 1;
  auto keep = [&](uint32_t c, double v) { return selected[c] && (!by_value || (v >= opt.value_min && v <= opt.value_max)); };
  const uint64_t begin = opt.row_begin, end = std::min(opt.row_end, m.n_rows);
  const bool unordered = reader.info().permuted && (!opt.sorted_indices || !opt.want_indices);

  auto scanner = reader.Scan(opt);
  ASSERT_TRUE(scanner.ok()) << scanner.status().ToString();
  std::vector<uint8_t> covered(m.n_rows, 0);
  uint64_t next = begin;
  CsrMatrix block;
  uint64_t first = 0;
  while (true) {
    auto more = (*scanner)->Next(&block, &first);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ASSERT_GT(block.n_rows, 0u);
    ASSERT_GE(first, next) << "blocks out of order or overlapping";
    ASSERT_LE(first + block.n_rows, end);
    ASSERT_EQ(block.indptr.size(), block.n_rows + 1);
    ASSERT_EQ(block.indptr[0], 0u);
    ASSERT_EQ(block.indices.size(), opt.want_indices ? block.indptr.back() : 0);
    const size_t vals = m.value_type == ValueType::kUInt32 ? block.counts.size() : block.floats.size();
    ASSERT_EQ(vals, opt.want_values ? block.indptr.back() : 0);
    ASSERT_TRUE(m.value_type == ValueType::kUInt32 ? block.floats.empty() : block.counts.empty());
    std::vector<std::pair<uint32_t, uint32_t>> got_pairs, want_pairs;
    for (uint64_t i = 0; i < block.n_rows; ++i) {
      const uint64_t r = first + i;
      covered[r] = 1;
      // (column, value bits) pairs; 0 for what the scan does not project.
      got_pairs.clear();
      want_pairs.clear();
      for (uint64_t k = block.indptr[i]; k < block.indptr[i + 1]; ++k) {
        got_pairs.emplace_back(opt.want_indices ? block.indices[k] : 0, opt.want_values ? ValueBits(block, k) : 0);
      }
      for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
        if (!keep(m.indices[k], m.value(k))) continue;
        want_pairs.emplace_back(opt.want_indices ? m.indices[k] : 0, opt.want_values ? ValueBits(m, k) : 0);
      }
      ASSERT_EQ(got_pairs.size(), want_pairs.size()) << "row " << r;
      if (unordered) {
        std::sort(got_pairs.begin(), got_pairs.end());
        std::sort(want_pairs.begin(), want_pairs.end());
      }
      ASSERT_EQ(got_pairs, want_pairs) << "row " << r;
    }
    next = first + block.n_rows;
  }
  // Rows the scan left out must hold nothing it would have kept, and without
  // filters nothing may be left out.
  for (uint64_t r = begin; r < end; ++r) {
    if (covered[r]) continue;
    ASSERT_TRUE(!opt.columns.empty() || by_value) << "row " << r << " missing from an unfiltered scan";
    for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
      ASSERT_FALSE(keep(m.indices[k], m.value(k))) << "row " << r << " was skipped but holds selected entries";
    }
  }
  const ScanStats& st = (*scanner)->stats();
  uint64_t in_range = 0, bytes_read = 0;
  for (const ChunkInfo& c : reader.info().chunks) {
    if (begin < end && c.first_row < end && c.first_row + c.n_rows > begin) ++in_range;
  }
  EXPECT_EQ(st.chunks_total, reader.info().chunks.size());
  EXPECT_EQ(st.chunks_read + st.chunks_skipped, in_range);
  for (const ChunkInfo& c : reader.info().chunks) bytes_read += c.stored_len;
  EXPECT_LE(st.bytes_read, bytes_read);
  if (!by_value && opt.columns.empty()) {
    EXPECT_EQ(st.chunks_skipped, 0u);
  }
}

// ---------------------------------------------------------------------------
// The round-trip suite over shapes x codecs x orders x chunk sizes.

const Shape kShapes[] = {
    {"zero_rows", 0, 10, ValueType::kUInt32, 0.5, 0, 0, false, 1},
    {"zero_cols", 7, 0, ValueType::kUInt32, 0.5, 0, 0, false, 2},
    {"one_cell", 1, 1, ValueType::kUInt32, 1.0, 0, 0, false, 3},
    {"sparse_counts", 3000, 500, ValueType::kUInt32, 0.02, 30, 0, false, 4},
    {"dense_big_counts", 400, 300, ValueType::kUInt32, 0.5, 5, 0, true, 5},
    {"explicit_zeros", 500, 200, ValueType::kUInt32, 0.1, 10, 20, true, 6},
    {"floats", 1500, 400, ValueType::kFloat32, 0.05, 10, 0, false, 7},
    {"huge_row", 5, 100000, ValueType::kUInt32, 0.6, 0, 0, false, 8, true},
    {"huge_row_floats", 3, 70000, ValueType::kFloat32, 0.5, 0, 0, false, 9, true},
    {"many_empty_rows", 70000, 50, ValueType::kUInt32, 0.1, 99, 0, false, 10},
};

class SegmentRoundTrip : public ::testing::TestWithParam<Shape> {};

void CheckInfo(const SegmentReader& reader, const CsrMatrix& m, const SegmentWriterOptions& opt, const SegmentWriteStats& stats,
               size_t file_size) {
  const SegmentInfo& info = reader.info();
  EXPECT_EQ(info.n_rows, m.n_rows);
  EXPECT_EQ(info.n_cols, m.n_cols);
  EXPECT_EQ(info.value_type, m.value_type);
  EXPECT_EQ(info.nnz, m.nnz());
  EXPECT_EQ(info.file_size, file_size);
  EXPECT_EQ(info.major, 1);
  EXPECT_EQ(info.permuted, !opt.stored_to_original.empty());
  if (info.permuted) {
    EXPECT_EQ(info.stored_to_original, opt.stored_to_original);
  }
  EXPECT_EQ(stats.n_rows, m.n_rows);
  EXPECT_EQ(stats.nnz, m.nnz());
  EXPECT_EQ(stats.file_bytes, file_size);
  EXPECT_EQ(stats.chunks, info.chunks.size());
  double sum = 0, abs_sum = 0;
  for (size_t k = 0; k < m.nnz(); ++k) sum += m.value(k), abs_sum += std::fabs(m.value(k));
  if (m.value_type == ValueType::kUInt32) {
    EXPECT_EQ(info.sum, sum);
  } else {
    EXPECT_NEAR(info.sum, sum, 1e-12 * abs_sum);
  }

  // Zone maps against the oracle, in stored column ids.
  std::vector<uint32_t> to_stored(m.n_cols);
  for (uint32_t c = 0; c < m.n_cols; ++c) to_stored[c] = c;
  if (info.permuted) {
    for (uint32_t s = 0; s < m.n_cols; ++s) to_stored[opt.stored_to_original[s]] = s;
  }
  uint64_t row = 0;
  for (size_t i = 0; i < info.chunks.size(); ++i) {
    const ChunkInfo& c = info.chunks[i];
    SCOPED_TRACE("chunk " + std::to_string(i));
    ASSERT_EQ(c.first_row, row);
    ASSERT_GT(c.n_rows, 0u);
    uint64_t nnz = 0;
    uint32_t lo_col = UINT32_MAX, hi_col = 0;
    double lo = kInf, hi = -kInf, csum = 0, cabs = 0;
    for (uint64_t r = c.first_row; r < c.first_row + c.n_rows; ++r) {
      for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
        ++nnz;
        lo_col = std::min(lo_col, to_stored[m.indices[k]]);
        hi_col = std::max(hi_col, to_stored[m.indices[k]]);
        lo = std::min(lo, m.value(k));
        hi = std::max(hi, m.value(k));
        csum += m.value(k);
        cabs += std::fabs(m.value(k));
      }
    }
    EXPECT_EQ(c.nnz, nnz);
    if (nnz) {
      EXPECT_EQ(c.min_col, lo_col);
      EXPECT_EQ(c.max_col, hi_col);
      EXPECT_EQ(c.min_value, lo);
      EXPECT_EQ(c.max_value, hi);
    }
    if (m.value_type == ValueType::kUInt32) {
      EXPECT_EQ(c.sum, csum);
    } else {
      EXPECT_NEAR(c.sum, csum, 1e-12 * cabs);
    }
    row += c.n_rows;
  }
  EXPECT_EQ(row, m.n_rows);
}

void CheckReads(const SegmentReader& reader, const CsrMatrix& m, std::mt19937_64* rng) {
  CsrMatrix got;
  // All rows, then random ranges (empty ones included).
  ASSERT_TRUE(reader.ReadRows(0, m.n_rows, &got).ok());
  std::vector<uint64_t> all(m.n_rows);
  for (uint64_t r = 0; r < m.n_rows; ++r) all[r] = r;
  ASSERT_TRUE(SameCsr(got, SelectRows(m, all)));
  for (int i = 0; i < 12; ++i) {
    const uint64_t a = m.n_rows ? (*rng)() % (m.n_rows + 1) : 0;
    const uint64_t b = m.n_rows ? (*rng)() % (m.n_rows + 1) : 0;
    const uint64_t lo = std::min(a, b), hi = i == 0 ? lo : std::max(a, b);
    ASSERT_TRUE(reader.ReadRows(lo, hi, &got).ok());
    ASSERT_TRUE(SameCsr(got, SelectRows(m, std::span(all).subspan(lo, hi - lo)))) << "rows [" << lo << ", " << hi << ")";
  }
  // Row lists: random order with repeats, sorted distinct, empty.
  // Lists hold up to 60 rows, fewer when rows are huge (to bound runtime).
  const uint64_t max_list = m.n_rows ? std::clamp<uint64_t>(200000 * m.n_rows / (m.nnz() + 1), 2, 60) : 0;
  for (int i = 0; i < 5 && m.n_rows; ++i) {
    std::vector<uint64_t> rows(1 + (*rng)() % max_list);
    for (uint64_t& r : rows) r = (*rng)() % m.n_rows;
    if (i == 0) rows.push_back(rows.front());
    if (i == 1) {
      std::sort(rows.begin(), rows.end());
      rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    }
    ASSERT_TRUE(reader.ReadRowList(rows, &got).ok());
    ASSERT_TRUE(SameCsr(got, SelectRows(m, rows))) << "row list " << i;

    // Submatrix over the same rows and a random unordered set of columns.
    std::vector<uint32_t> cols;
    for (uint32_t c = 0; c < m.n_cols; ++c) {
      if ((*rng)() % 4 == 0 || (i == 2 && (*rng)() % 3)) cols.push_back(c);
    }
    std::shuffle(cols.begin(), cols.end(), *rng);
    if (i == 3) cols.clear();
    if (cols.size() > 3000) cols.resize(3000);
    ASSERT_TRUE(reader.ReadSubmatrix(rows, cols, &got).ok());
    ASSERT_TRUE(SameCsr(got, Submatrix(m, rows, cols))) << "submatrix " << i;
  }
  ASSERT_TRUE(reader.ReadRowList({}, &got).ok());
  EXPECT_EQ(got.n_rows, 0u);
  EXPECT_EQ(got.nnz(), 0u);
}

void CheckScans(const SegmentReader& reader, const CsrMatrix& m, std::mt19937_64* rng) {
  double vlo = kInf, vhi = -kInf;
  for (size_t k = 0; k < m.nnz(); ++k) vlo = std::min(vlo, m.value(k)), vhi = std::max(vhi, m.value(k));
  for (int range = 0; range < 2; ++range) {
    for (int cols = 0; cols < 2; ++cols) {
      for (int values = 0; values < 2; ++values) {
        for (int proj = 0; proj < 4; ++proj) {
          ScanOptions o;
          o.want_indices = proj & 1;
          o.want_values = proj & 2;
          if (range && m.n_rows) {
            o.row_begin = (*rng)() % m.n_rows;
            o.row_end = o.row_begin + (*rng)() % (m.n_rows - o.row_begin + 1);
          }
          if (cols && m.n_cols) {
            const size_t n = 1 + (*rng)() % std::min<uint32_t>(m.n_cols, 20);
            for (size_t i = 0; i < n; ++i) o.columns.push_back(static_cast<uint32_t>((*rng)() % m.n_cols));
          }
          if (values && m.nnz()) {
            const double a = m.value((*rng)() % m.nnz()), b = m.value((*rng)() % m.nnz());
            o.value_min = std::min(a, b);
            o.value_max = (*rng)() % 3 == 0 ? kInf : std::max(a, b);
          }
          const std::string what = "scan range=" + std::to_string(range) + " cols=" + std::to_string(cols) +
                                   " values=" + std::to_string(values) + " proj=" + std::to_string(proj);
          CheckScan(reader, m, o, what);
          if (reader.info().permuted) {
            o.sorted_indices = false;
            CheckScan(reader, m, o, what + " unsorted");
          }
          if (::testing::Test::HasFatalFailure()) return;
        }
      }
    }
  }
  // Filters that keep nothing or everything.
  ScanOptions none;
  none.value_min = vhi + 1;
  CheckScan(reader, m, none, "value above the maximum");
  ScanOptions every;
  every.value_min = vlo;
  every.value_max = vhi;
  CheckScan(reader, m, every, "value range of the whole matrix");
}

TEST_P(SegmentRoundTrip, AllReadPaths) {
  const Shape& shape = GetParam();
  const CsrMatrix m = Generate(shape);
  const std::vector<uint64_t> col_nnz = ColNnz(m);
  std::mt19937_64 rng(shape.seed * 1000);
  for (ChunkCodecChoice codec : {ChunkCodecChoice::kNone, ChunkCodecChoice::kZstd, ChunkCodecChoice::kLz4, ChunkCodecChoice::kAuto}) {
    for (bool permute : {false, true}) {
      for (uint32_t target : {1u, 3000u, 1u << 20}) {
        SCOPED_TRACE(std::string(shape.name) + " codec " + std::to_string(static_cast<int>(codec)) + " permute " +
                     std::to_string(permute) + " target " + std::to_string(target));
        SegmentWriterOptions opt;
        opt.n_cols = m.n_cols;
        opt.value_type = m.value_type;
        opt.target_chunk_bytes = target;
        opt.codec = codec;
        if (permute) opt.stored_to_original = FrequencyOrder(col_nnz);
        SegmentWriteStats stats;
        std::vector<uint8_t> bytes = WriteSegment(m, opt, rng(), &stats);
        const size_t size = bytes.size();
        auto reader = OpenSegment(std::move(bytes));
        ASSERT_NE(reader, nullptr);
        CheckInfo(*reader, m, opt, stats, size);
        const Status v = reader->VerifyAll();
        ASSERT_TRUE(v.ok()) << v.ToString();
        CheckReads(*reader, m, &rng);
        if (::testing::Test::HasFatalFailure()) return;
        CheckScans(*reader, m, &rng);
        if (::testing::Test::HasFatalFailure()) return;
        if (target == 1 && m.n_rows > 100 && m.nnz() > 5000) {
          EXPECT_GT(reader->info().chunks.size(), 5u) << "tiny chunks expected";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SegmentRoundTrip, ::testing::ValuesIn(kShapes),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// Zone-map pruning: chunks whose zone maps exclude the filter go unread.

TEST(SegmentScan, ZoneMapsSkipChunks) {
  // Rows [0, 2000) hold columns 0..49 with values 1..10; rows [2000, 4000)
  // hold columns 50..99 with values 1000..1999.
  CsrMatrix m;
  m.Clear(100, ValueType::kUInt32);
  std::mt19937_64 rng(77);
  for (uint64_t r = 0; r < 4000; ++r) {
    const bool late = r >= 2000;
    for (uint32_t c = late ? 50 : 0; c < (late ? 100u : 50u); ++c) {
      if (rng() % 5) continue;
      m.indices.push_back(c);
      m.counts.push_back(late ? 1000 + rng() % 1000 : 1 + rng() % 10);
    }
    m.indptr.push_back(m.indices.size());
    ++m.n_rows;
  }
  SegmentWriterOptions opt;
  opt.n_cols = 100;
  opt.target_chunk_bytes = 1;
  auto reader = OpenSegment(WriteSegment(m, opt, 1));
  ASSERT_NE(reader, nullptr);
  const auto& chunks = reader->info().chunks;
  ASSERT_GT(chunks.size(), 10u);
  size_t early = 0, late = 0;  // chunks wholly in one half
  for (const ChunkInfo& c : chunks) {
    if (c.first_row + c.n_rows <= 2000) ++early;
    if (c.first_row >= 2000) ++late;
  }

  auto count_skips = [&](const ScanOptions& o, const std::string& what) -> uint64_t {
    CheckScan(*reader, m, o, what);
    auto s = reader->Scan(o);
    if (!s.ok()) return 0;
    CsrMatrix b;
    uint64_t first = 0;
    while (true) {
      auto more = (*s)->Next(&b, &first);
      if (!more.ok() || !*more) break;
    }
    return (*s)->stats().chunks_skipped;
  };
  ScanOptions cols;
  cols.columns = {3, 7};
  EXPECT_EQ(count_skips(cols, "early columns"), late);
  cols.columns = {99, 60};
  EXPECT_EQ(count_skips(cols, "late columns"), early);
  ScanOptions high;
  high.value_min = 500;
  EXPECT_EQ(count_skips(high, "high values"), early);
  ScanOptions low;
  low.value_max = 10;
  EXPECT_EQ(count_skips(low, "low values"), late);
  ScanOptions both;
  both.columns = {3};
  both.value_min = 500;
  EXPECT_EQ(count_skips(both, "early column, high values"), early + late) << "every chunk outside the boundary is excluded by one test or the other";
  ScanOptions ranged = cols;
  ranged.row_begin = 2500;
  ranged.row_end = 3000;
  EXPECT_EQ(count_skips(ranged, "late columns in late rows"), 0u);
  EXPECT_GT(early, 0u);
  EXPECT_GT(late, 0u);
}

TEST(SegmentScan, RejectsBadOptions) {
  CsrMatrix m;
  m.Clear(10, ValueType::kUInt32);
  m.indices = {1, 5};
  m.counts = {2, 3};
  m.indptr = {0, 2};
  m.n_rows = 1;
  SegmentWriterOptions opt;
  opt.n_cols = 10;
  auto reader = OpenSegment(WriteSegment(m, opt, 1));
  ASSERT_NE(reader, nullptr);
  ScanOptions o;
  o.columns = {10};
  EXPECT_TRUE(reader->Scan(o).status().IsInvalidArgument());
  ScanOptions past;
  past.row_begin = 2;
  EXPECT_TRUE(reader->Scan(past).status().IsInvalidArgument());
  CsrMatrix out;
  EXPECT_TRUE(reader->ReadRows(0, 2, &out).IsInvalidArgument());
  EXPECT_TRUE(reader->ReadRows(1, 0, &out).IsInvalidArgument());
  const uint64_t bad_row[] = {0, 1};
  EXPECT_TRUE(reader->ReadRowList(bad_row, &out).IsInvalidArgument());
  const uint64_t row0[] = {0};
  const uint32_t twice[] = {5, 1, 5};
  EXPECT_TRUE(reader->ReadSubmatrix(row0, twice, &out).IsInvalidArgument());
  const uint32_t out_of_range[] = {10};
  EXPECT_TRUE(reader->ReadSubmatrix(row0, out_of_range, &out).IsInvalidArgument());
}

// ---------------------------------------------------------------------------
// Writer behaviour and input checks.

TEST(SegmentWriter, OutputIndependentOfAppendBatches) {
  const CsrMatrix m = Generate({"batches", 2000, 300, ValueType::kUInt32, 0.05, 10, 0, false, 21});
  SegmentWriterOptions opt;
  opt.n_cols = m.n_cols;
  opt.file_id = 12345;
  opt.target_chunk_bytes = 2000;
  const std::vector<uint8_t> a = WriteSegment(m, opt, 1);
  const std::vector<uint8_t> b = WriteSegment(m, opt, 2);
  EXPECT_EQ(a, b);
  opt.file_id = 0;  // random ids differ between files
  EXPECT_NE(WriteSegment(m, opt, 1), WriteSegment(m, opt, 1));
}

TEST(SegmentWriter, FrequencyOrder) {
  const uint64_t nnz[] = {5, 9, 0, 9, 1};
  EXPECT_EQ(FrequencyOrder(nnz), (std::vector<uint32_t>{1, 3, 0, 4, 2}));
  EXPECT_TRUE(FrequencyOrder({}).empty());
}

class WriterErrors : public ::testing::TestWithParam<bool> {
 protected:
  // A writer over 10 columns, permuted when the parameter is set.
  std::unique_ptr<SegmentWriter> Make(ValueType type = ValueType::kUInt32) {
    SegmentWriterOptions opt;
    opt.n_cols = 10;
    opt.value_type = type;
    if (GetParam()) opt.stored_to_original = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    file_ = io::NewMemoryWritableFile("w.seg", &bytes_);
    auto w = SegmentWriter::Create(file_.get(), opt);
    EXPECT_TRUE(w.ok());
    return std::move(*w);
  }
  Status Append(SegmentWriter* w, std::vector<uint64_t> indptr, std::vector<uint32_t> cols, bool floats = false) {
    std::vector<uint32_t> counts(cols.size(), 1);
    std::vector<float> fl(cols.size(), 1.5f);
    CsrRowsView v;
    v.n_rows = indptr.size() - 1;
    v.indptr = indptr.data();
    v.indices = cols.data();
    if (floats) v.floats = fl.data();
    else v.counts = counts.data();
    return w->AppendRows(v);
  }
  std::vector<uint8_t> bytes_;
  std::unique_ptr<io::WritableFile> file_;
};

TEST_P(WriterErrors, ColumnOutOfRange) {
  auto w = Make();
  EXPECT_TRUE(Append(w.get(), {0, 2}, {3, 10}).IsInvalidArgument());
  w = Make();
  EXPECT_TRUE(Append(w.get(), {0, 1}, {0xFFFFFFFFu}).IsInvalidArgument());
}

TEST_P(WriterErrors, ColumnsNotIncreasing) {
  auto w = Make();
  EXPECT_TRUE(Append(w.get(), {0, 2}, {4, 4}).IsInvalidArgument());
  w = Make();
  EXPECT_TRUE(Append(w.get(), {0, 3}, {1, 5, 2}).IsInvalidArgument());
  // Rows are separate: a smaller id in the next row is fine.
  w = Make();
  EXPECT_TRUE(Append(w.get(), {0, 2, 4}, {5, 7, 1, 2}).ok());
}

TEST_P(WriterErrors, WrongValueArray) {
  auto w = Make(ValueType::kUInt32);
  EXPECT_TRUE(Append(w.get(), {0, 1}, {3}, /*floats=*/true).IsInvalidArgument());
  w = Make(ValueType::kFloat32);
  EXPECT_TRUE(Append(w.get(), {0, 1}, {3}, /*floats=*/false).IsInvalidArgument());
  w = Make(ValueType::kFloat32);
  EXPECT_TRUE(Append(w.get(), {0, 1}, {3}, /*floats=*/true).ok());
}

TEST_P(WriterErrors, BadIndptrAndLifecycle) {
  auto w = Make();
  EXPECT_TRUE(Append(w.get(), {0, 2, 1}, {1, 2}).IsInvalidArgument());
  w = Make();
  EXPECT_TRUE(Append(w.get(), {0, 11}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9}).IsInvalidArgument());
  w = Make();
  ASSERT_TRUE(Append(w.get(), {0, 1}, {2}).ok());
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_TRUE(Append(w.get(), {0, 1}, {2}).IsInvalidArgument());
  EXPECT_TRUE(w->Finish().status().IsInvalidArgument());
}

TEST_P(WriterErrors, RejectedRowPoisonsTheWriter) {
  // After a refused row the writer is unusable (segment.h): every later call
  // returns the first error and no readable file is ever finished, so a
  // half-added row can never reach disk.
  auto w = Make();
  const Status first = Append(w.get(), {0, 2}, {3, 10});
  ASSERT_TRUE(first.IsInvalidArgument());
  const Status again = Append(w.get(), {0, 2, 3}, {1, 2, 4});
  EXPECT_TRUE(again.IsInvalidArgument());
  EXPECT_EQ(again.message(), first.message());
  auto finished = w->Finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.status().message(), first.message());
  EXPECT_FALSE(SegmentReader::Open(io::NewMemoryFile("poisoned.seg", bytes_)).ok());
}

INSTANTIATE_TEST_SUITE_P(Order, WriterErrors, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "permuted" : "identity"; });

TEST(SegmentWriter, RejectsBadPermutation) {
  std::vector<uint8_t> bytes;
  auto file = io::NewMemoryWritableFile("p.seg", &bytes);
  SegmentWriterOptions opt;
  opt.n_cols = 3;
  opt.stored_to_original = {0, 1};
  EXPECT_TRUE(SegmentWriter::Create(file.get(), opt).status().IsInvalidArgument());
  opt.stored_to_original = {0, 1, 1};
  EXPECT_TRUE(SegmentWriter::Create(file.get(), opt).status().IsInvalidArgument());
  opt.stored_to_original = {0, 1, 3};
  EXPECT_TRUE(SegmentWriter::Create(file.get(), opt).status().IsInvalidArgument());
}

}  // namespace
}  // namespace slaf
