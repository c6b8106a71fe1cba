// The golden test vectors of format-spec/golden/: each case is an input
// matrix plus writer options. tests/golden_gen.cc writes the files and their
// expected contents; tests/golden_test.cc re-encodes every case and compares
// the bytes with the committed files, and decodes the committed files against
// the expected contents. Never change an existing case: add new ones.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "slaf/dense.h"
#include "slaf/segment.h"
#include "slaf/table.h"

namespace slaf::golden {

struct Case {
  std::string name;  // file stem in format-spec/golden/
  std::string what;  // one line for the README
  CsrMatrix matrix;
  SegmentWriterOptions options;
};

// A small LCG so the cases never depend on a standard library's <random>.
inline uint32_t Lcg(uint64_t* s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<uint32_t>(*s >> 33);
}

inline void AddRow(CsrMatrix* m, const std::vector<std::pair<uint32_t, double>>& entries) {
  for (auto [c, v] : entries) {
    m->indices.push_back(c);
    if (m->value_type == ValueType::kUInt32) m->counts.push_back(static_cast<uint32_t>(v));
    else m->floats.push_back(static_cast<float>(v));
  }
  m->indptr.push_back(m->indices.size());
  ++m->n_rows;
}

// rows x cols with about density*cols entries per row; counts mostly 1-3
// with rare large outliers (exercising exceptions), or floats.
inline CsrMatrix RandomMatrix(uint64_t rows, uint32_t cols, double density, ValueType type, uint64_t seed, bool allow_zero) {
  CsrMatrix m;
  m.Clear(cols, type);
  uint64_t s = seed;
  for (uint64_t r = 0; r < rows; ++r) {
    std::vector<std::pair<uint32_t, double>> e;
    for (uint32_t c = 0; c < cols; ++c) {
      // Column-dependent frequency so a frequency order differs from identity.
      const double p = density * (0.2 + 1.6 * ((c * 7919u) % cols) / double(cols));
      if (Lcg(&s) % 10000 >= p * 10000) continue;
      double v;
      if (type == ValueType::kUInt32) {
        const uint32_t x = Lcg(&s) % 100;
        v = x < 70 ? 1 : x < 85 ? 2 : x < 95 ? 3 + Lcg(&s) % 5 : x < 99 ? 10 + Lcg(&s) % 100 : 1000 + Lcg(&s) % 100000;
        if (allow_zero && Lcg(&s) % 50 == 0) v = 0;
      } else {
        v = (static_cast<int>(Lcg(&s) % 20001) - 10000) / 256.0;
      }
      e.emplace_back(c, v);
    }
    AddRow(&m, e);
  }
  return m;
}

inline std::vector<uint64_t> ColumnNnz(const CsrMatrix& m) {
  std::vector<uint64_t> n(m.n_cols, 0);
  for (uint32_t c : m.indices) ++n[c];
  return n;
}

inline std::vector<Case> AllCases() {
  std::vector<Case> cases;
  auto opts = [](uint32_t cols, ValueType t, uint64_t file_id) {
    SegmentWriterOptions o;
    o.n_cols = cols;
    o.value_type = t;
    o.file_id = file_id;
    return o;
  };
  {
    // The worked example of format-spec §5.
    Case c{"tiny_counts", "4 cells x 6 genes, u32 counts, one chunk, no codec (format-spec §5 worked example)", {}, opts(6, ValueType::kUInt32, 0x0123456789abcdefull)};
    c.matrix.Clear(6, ValueType::kUInt32);
    AddRow(&c.matrix, {{1, 1}, {4, 3}});
    AddRow(&c.matrix, {});
    AddRow(&c.matrix, {{0, 2}, {2, 1}, {5, 7}});
    AddRow(&c.matrix, {{3, 1}});
    cases.push_back(std::move(c));
  }
  {
    Case c{"empty_cells", "6 cells x 10 genes, every cell empty (nnz 0)", {}, opts(10, ValueType::kUInt32, 2)};
    c.matrix.Clear(10, ValueType::kUInt32);
    for (int i = 0; i < 6; ++i) AddRow(&c.matrix, {});
    cases.push_back(std::move(c));
  }
  {
    Case c{"zero_rows", "0 cells x 5 genes: a file with no chunks", {}, opts(5, ValueType::kUInt32, 3)};
    c.matrix.Clear(5, ValueType::kUInt32);
    cases.push_back(std::move(c));
  }
  {
    Case c{"counts_multi_chunk", "300 cells x 64 genes, u32 counts with outliers, ~1 KiB chunks, some chunks with explicit zeros (encoding 2)",
           RandomMatrix(300, 64, 0.2, ValueType::kUInt32, 11, true), opts(64, ValueType::kUInt32, 4)};
    c.options.target_chunk_bytes = 1024;
    cases.push_back(std::move(c));
  }
  {
    Case c{"counts_permuted", "200 cells x 80 genes, u32 counts, genes renumbered by frequency (col_order 1)",
           RandomMatrix(200, 80, 0.15, ValueType::kUInt32, 12, false), opts(80, ValueType::kUInt32, 5)};
    c.options.stored_to_original = FrequencyOrder(ColumnNnz(c.matrix));
    c.options.target_chunk_bytes = 2048;
    cases.push_back(std::move(c));
  }
  const std::pair<const char*, ChunkCodecChoice> codecs[] = {{"none", ChunkCodecChoice::kNone}, {"zstd", ChunkCodecChoice::kZstd}, {"lz4", ChunkCodecChoice::kLz4}};
  uint64_t id = 6;
  for (auto [name, codec] : codecs) {
    Case c{std::string("counts_") + name, std::string("120 cells x 40 genes, u32 counts, codec ") + name,
           RandomMatrix(120, 40, 0.3, ValueType::kUInt32, 13, false), opts(40, ValueType::kUInt32, id++)};
    c.options.codec = codec;
    c.options.target_chunk_bytes = 1500;
    cases.push_back(std::move(c));
  }
  for (auto [name, codec] : codecs) {
    Case c{std::string("floats_") + name, std::string("100 cells x 30 genes, f32 values (byte-shuffled), codec ") + name,
           RandomMatrix(100, 30, 0.3, ValueType::kFloat32, 14, false), opts(30, ValueType::kFloat32, id++)};
    c.options.codec = codec;
    c.options.target_chunk_bytes = 2000;
    cases.push_back(std::move(c));
  }
  {
    // Added after format 1.0's first vectors: value encoding 3 and special
    // float values.
    Case c{"floats_plain_special", "5 cells x 4 genes, f32 plain little-endian (encoding 3): NaN, +-inf, -0, subnormal, max", {}, opts(4, ValueType::kFloat32, 12)};
    c.options.shuffle_floats = false;
    c.options.codec = ChunkCodecChoice::kNone;
    c.matrix.Clear(4, ValueType::kFloat32);
    AddRow(&c.matrix, {{0, std::numeric_limits<double>::quiet_NaN()}, {3, 1.5}});
    AddRow(&c.matrix, {{1, std::numeric_limits<double>::infinity()}, {2, -std::numeric_limits<double>::infinity()}});
    AddRow(&c.matrix, {{0, -0.0}, {1, 1e-45}, {2, 3.4028234663852886e38}, {3, -2.5}});
    AddRow(&c.matrix, {});
    AddRow(&c.matrix, {{2, 0.0}});
    cases.push_back(std::move(c));
  }
  {
    Case c{"counts_u32_max", "3 cells x 5 genes, u32 counts up to 2^32-1 (32-bit wide values and exceptions)", {}, opts(5, ValueType::kUInt32, 13)};
    c.matrix.Clear(5, ValueType::kUInt32);
    AddRow(&c.matrix, {{0, 4294967295.0}, {1, 1}, {4, 2147483648.0}});
    AddRow(&c.matrix, {{2, 65536}, {3, 4294967294.0}});
    AddRow(&c.matrix, {{4, 1}});
    cases.push_back(std::move(c));
  }
  {
    Case c{"zero_cols", "3 cells x 0 genes: rows exist, no column can hold a value", {}, opts(0, ValueType::kUInt32, 14)};
    c.matrix.Clear(0, ValueType::kUInt32);
    for (int i = 0; i < 3; ++i) AddRow(&c.matrix, {});
    cases.push_back(std::move(c));
  }
  return cases;
}

// An invalid vector: tiny_counts.seg with one deliberate defect, and a
// substring the reader's error message must contain. Table and dense
// vectors (ext ".tbl", ".dense") also name the error kind.
struct InvalidCase {
  std::string name;
  std::string defect;
  std::string expected_error;
  std::vector<uint8_t> bytes;
  std::string ext = ".seg";
  std::string kind;  // "Corruption" or "NotSupported"; empty for the .seg vectors
};
std::vector<InvalidCase> InvalidCases();

// Table (.tbl, format-spec §7) and dense (.dense, §8) vectors, added after
// the segment ones. Same rules: never change a case, append new ones.
struct TableCase {
  std::string name;
  std::string what;
  Table table;
  TableWriterOptions options;
};
struct DenseCase {
  std::string name;
  std::string what;
  DenseMatrix matrix;
  DenseWriterOptions options;
};
std::vector<TableCase> AllTableCases();
std::vector<DenseCase> AllDenseCases();
std::vector<uint8_t> EncodeTable(const TableCase& c);
std::vector<uint8_t> EncodeDense(const DenseCase& c);
// Expected contents as JSON, written from the input table or matrix.
std::string ExpectedTableJson(const TableCase& c);
std::string ExpectedDenseJson(const DenseCase& c);
// Invalid .tbl vectors (from table_all_types) and .dense vectors (from
// dense_f64_plain_none), each with its expected error text and kind.
std::vector<InvalidCase> InvalidTableAndDenseCases();

// Encodes a case with the library's writer.
std::vector<uint8_t> Encode(const Case& c);

// Expected contents as JSON (written from the input matrix, not by decoding).
std::string ExpectedJson(const Case& c);

}  // namespace slaf::golden
